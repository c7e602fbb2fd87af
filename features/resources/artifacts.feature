Feature: Browse artifacts
  As an analyst choosing what to collect
  I want to browse the artifacts Velociraptor offers, and open one of them
  So that I pick an artifact that exists, with the parameters it really takes

  Velociraptor 0.77.2 types each artifact client, client_event, server, server_event,
  notebook or internal (artifact_definitions(); written in capitals in the artifact's YAML);
  a type is compared without regard to case.

  @tool:resource:velociraptor://artifacts
  Scenario: The artifact catalogue lists every artifact Velociraptor has, and no other
    When I browse the artifact catalogue
    Then the server under test reports success
    And the page lists exactly the artifacts Velociraptor has

  @tool:resource:velociraptor://artifacts/{artifact_name}
  Scenario: An artifact's page describes it as Velociraptor does
    When I browse the page of artifact "Linux.Sys.Users"
    Then the server under test reports success
    And the page describes "Linux.Sys.Users" with the description and parameters Velociraptor has

  @tool:resource:velociraptor://artifacts/{artifact_name} @bad_input
  Scenario: The page of an artifact that does not exist answers not found
    When I browse the page of artifact "Custom.Raptorspec.NoSuchArtifact"
    Then the server under test answers that "Custom.Raptorspec.NoSuchArtifact" is not found

  @tool:resource:velociraptor://artifacts
  Scenario Outline: The catalogue gives each <type> artifact the type Velociraptor gives it
    When I browse the artifact catalogue
    Then the page lists every <type> artifact Velociraptor has, with that type

    Examples:
      | type         |
      | client       |
      | client_event |
      | server       |
      | server_event |
      | notebook     |
      | internal     |
