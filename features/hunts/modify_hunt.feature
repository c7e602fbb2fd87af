Feature: Start, pause, stop and archive a hunt
  As an analyst running a hunt
  I want to start it when I am ready and stop it when I have what I need
  So that endpoints are only touched while the hunt serves the investigation

  Archiving: the contract says a hunt I archive shows ARCHIVED in Velociraptor. Velociraptor
  0.77.2 cannot do that any more — its hunt manager ignores the ARCHIVED state ("we no longer
  archive hunts - they must be deleted", services/hunt_manager/mutations.go), so no server can
  keep that promise against it. This spec asks for the truth instead: a server may say it
  archived a hunt only if Velociraptor shows the hunt ARCHIVED; otherwise it must say that it
  could not. And archiving must never delete the hunt with its results.

  Pausing: Velociraptor 0.77.2 records a pause of a running hunt as STOPPED; what matters to
  the analyst is that the hunt no longer runs.

  Hunts that need not touch an endpoint are limited to a label no client carries.

  @tool:modify_hunt @os:linux @arg:hunt_id @arg:action
  Scenario: Starting a hunt sets it running and offers it to my client
    Given an enrolled linux client
    And a paused hunt "start-me" for "Generic.Client.Info" limited to the client
    When I start the hunt
    Then the server under test reports success
    And Velociraptor shows the hunt "start-me" as RUNNING
    And Velociraptor shows the hunt's collection on the client

  @tool:modify_hunt @arg:hunt_id @arg:action
  Scenario: Stopping a running hunt stops it
    Given a running hunt "stop-me" for "Generic.Client.Info" aimed at no client
    When I stop the hunt
    Then the server under test reports success
    And Velociraptor shows the hunt "stop-me" as STOPPED

  @tool:modify_hunt @arg:action
  Scenario: Pausing a running hunt keeps it from running
    Given a running hunt "pause-me" for "Generic.Client.Info" aimed at no client
    When I pause the hunt
    Then the server under test reports success
    And Velociraptor shows the hunt "pause-me" no longer running

  @tool:modify_hunt
  Scenario: Archiving a hunt is claimed only when Velociraptor archived it
    Given a stopped hunt "archive-me" for "Generic.Client.Info" aimed at no client
    When I archive the hunt
    Then the server under test reports success only if Velociraptor shows the hunt "archive-me" as ARCHIVED
    And Velociraptor still has the hunt "archive-me"

  @tool:modify_hunt @bad_input
  Scenario: Starting a hunt that does not exist is refused
    When I start the hunt "H.RAPTORSPEC0000"
    Then the server under test answers that "H.RAPTORSPEC0000" is not found
    And Velociraptor knows no hunt "H.RAPTORSPEC0000"

  @tool:modify_hunt
  Scenario: Starting a stopped hunt sets it running again
    Given a stopped hunt "restart-me" for "Generic.Client.Info" aimed at no client
    When I start the hunt
    Then the server under test reports success
    And Velociraptor shows the hunt "restart-me" as RUNNING

  @tool:modify_hunt @bad_input
  Scenario: An action the server does not know is refused and leaves the hunt as it was
    Given a paused hunt "odd-action" for "Generic.Client.Info" aimed at no client
    When I ask to "rewind" the hunt
    Then the server under test reports an error
    And Velociraptor shows the hunt "odd-action" still PAUSED

  @tool:modify_hunt @bad_input
  Scenario: An unknown action on a running hunt leaves it running
    Given a running hunt "odd-running" for "Generic.Client.Info" aimed at no client
    When I ask to "rewind" the hunt
    Then the server under test reports an error
    And Velociraptor shows the hunt "odd-running" still RUNNING
