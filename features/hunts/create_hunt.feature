Feature: Create a hunt
  As an analyst scoping an incident across the fleet
  I want to prepare a hunt for the artifacts I need, limited to the clients I labelled
  So that I can review it before any endpoint is touched

  Every hunt here is created paused and limited to a label no client carries, so nothing
  runs on any endpoint; each is found again in Velociraptor by its description.

  @tool:create_hunt
  Scenario: A hunt I create paused waits in Velociraptor as I described it
    When I create a paused hunt "triage-sweep" for "Generic.Client.Info" limited to clients labelled "hunt-scope"
    Then the server under test reports success
    And Velociraptor shows the hunt "triage-sweep" as PAUSED
    And Velociraptor shows the hunt "triage-sweep" collecting "Generic.Client.Info"
    And Velociraptor shows the hunt "triage-sweep" limited to clients labelled "hunt-scope"

  @tool:create_hunt
  Scenario: The server tells me the id of the hunt it created
    When I create a paused hunt "id-check" for "Linux.Sys.Users" limited to clients labelled "hunt-scope"
    Then the hunt id the server under test reports is the hunt "id-check" in Velociraptor

  @tool:create_hunt @bad_input
  Scenario: A hunt for an artifact Velociraptor does not know is refused
    When I create a paused hunt "no-such-artifact" for "Custom.Raptorspec.NoSuchArtifact" limited to clients labelled "hunt-scope"
    Then the server under test answers that "Custom.Raptorspec.NoSuchArtifact" is not found
    And Velociraptor shows no hunt "no-such-artifact"
