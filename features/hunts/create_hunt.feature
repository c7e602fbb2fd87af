Feature: Create a hunt
  As an analyst scoping an incident across the fleet
  I want to prepare a hunt for the artifacts I need, limited to the clients I labelled
  So that I can review it before any endpoint is touched

  Every hunt here is limited to a label no client carries (or, for the one limited to an
  operating system, to Windows clients, which the lab has none of), so nothing runs on any
  endpoint; each is found again in Velociraptor by its description. Velociraptor keeps a
  hunt's expiry and creation time in microseconds since the epoch (hunts(): expires,
  create_time); an expiry is checked to within 5 minutes.

  @tool:create_hunt @arg:artifacts @arg:description @arg:include_labels
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

  @tool:create_hunt @arg:artifacts
  Scenario: A hunt I create for two artifacts collects both
    When I create a paused hunt "two-at-once" for "Generic.Client.Info" and "Linux.Sys.Users", limited to clients labelled "hunt-scope"
    Then the server under test reports success
    And Velociraptor shows the hunt "two-at-once" collecting both "Generic.Client.Info" and "Linux.Sys.Users"

  @tool:create_hunt @arg:paused
  Scenario: A hunt I do not ask to pause runs at once
    When I create a running hunt "go-now" for "Generic.Client.Info", limited to clients labelled "hunt-scope"
    Then the server under test reports success
    And Velociraptor shows the hunt "go-now" as RUNNING

  @tool:create_hunt @arg:parameters
  Scenario: The parameters I give a hunt reach Velociraptor
    When I create a paused hunt "with-params" for "Linux.Sys.Pslist" with "processRegex" set to "velociraptor", limited to clients labelled "hunt-scope"
    Then the server under test reports success
    And Velociraptor shows the hunt "with-params" passing "processRegex" set to "velociraptor" to "Linux.Sys.Pslist"

  @tool:create_hunt @arg:exclude_labels
  Scenario: A hunt leaves out the clients carrying a label I exclude
    When I create a paused hunt "keep-out" for "Generic.Client.Info", limited to clients labelled "hunt-scope" except those labelled "hands-off"
    Then the server under test reports success
    And Velociraptor shows the hunt "keep-out" leaving out clients labelled "hands-off"
    And Velociraptor shows the hunt "keep-out" limited to clients labelled "hunt-scope"

  @tool:create_hunt @arg:os_filter
  Scenario: A hunt I limit to one operating system reaches only that system's clients
    When I create a paused hunt "windows-only" for "Generic.Client.Info", limited to windows clients
    Then the server under test reports success
    And Velociraptor shows the hunt "windows-only" limited to windows clients

  @tool:create_hunt @arg:timeout
  Scenario: Each client gets the time I allow the hunt
    When I create a paused hunt "quick-one" for "Generic.Client.Info" allowing each client 120 seconds, limited to clients labelled "hunt-scope"
    Then the server under test reports success
    And Velociraptor shows the hunt "quick-one" allowing each client 120 seconds

  @tool:create_hunt @arg:expires_hours
  Scenario: A hunt expires when I say
    When I create a paused hunt "short-lived" for "Generic.Client.Info" expiring in 2 hours, limited to clients labelled "hunt-scope"
    Then the server under test reports success
    And Velociraptor shows the hunt "short-lived" expiring 2 hours after it was created

  @tool:create_hunt
  Scenario: A hunt I give no expiry expires a day after it was created
    When I create a paused hunt "a-day" for "Generic.Client.Info" limited to clients labelled "hunt-scope"
    Then the server under test reports success
    And Velociraptor shows the hunt "a-day" expiring 24 hours after it was created

  @tool:create_hunt @arg:timeout
  Scenario: A hunt may allow each client as little as a single second
    When I create a paused hunt "one-second" for "Generic.Client.Info" allowing each client a single second, limited to clients labelled "hunt-scope"
    Then the server under test reports success
    And Velociraptor shows the hunt "one-second" allowing each client a single second
