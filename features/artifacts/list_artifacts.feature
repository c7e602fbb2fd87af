@tool:list_artifacts
Feature: Find artifacts to collect
  As an analyst deciding what to collect
  I want to search Velociraptor's artifacts by name and kind
  So that I pick the right one without reading all of them

  Scenario: A search finds the artifacts about that subject, and only those
    When I search the artifacts for "Pslist"
    Then the server under test reports success
    And "Linux.Sys.Pslist" is among the artifacts listed
    And every artifact listed has "Pslist" in its name or description in Velociraptor

  Scenario: Asking for server artifacts lists only server artifacts
    When I list the server artifacts
    Then every artifact listed is a server artifact in Velociraptor

  Scenario: Asking for client artifacts lists only client artifacts
    When I list the client artifacts
    Then every artifact listed is a client artifact in Velociraptor

  Scenario: A limit caps how many artifacts are listed
    When I list artifacts, keeping at most 5
    Then the server under test lists exactly 5 of the artifacts Velociraptor knows

  Scenario: A search that matches nothing lists no artifact
    When I search the artifacts for "RaptorspecNoSuchArtifact"
    Then the server under test lists no artifact

  @security
  Scenario Outline: An artifact search holding quotes or VQL cannot widen the list
    When I search the artifacts for "<search>"
    Then the server under test lists no artifact

    Examples:
      | search                                   |
      | x' OR 1=1 --                             |
      | x" OR TRUE OR "                          |
      | x'; SELECT * FROM artifact_definitions() |
