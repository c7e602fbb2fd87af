Feature: Browse hunts and their results
  As an analyst following the hunts of an investigation
  I want to browse the hunts, open one, and read what it found
  So that I can follow a hunt without re-running anything

  The hunts here are limited to a label no client carries, except the one that must finish
  on the lab's client to have results.

  @tool:resource:velociraptor://hunts
  Scenario: The hunt list shows my hunt in the state Velociraptor shows
    Given a paused hunt "browsed" for "Generic.Client.Info" aimed at no client
    When I browse the hunt list
    Then the server under test reports success
    And the page lists the hunt "browsed" as PAUSED
    And every hunt on the page has the state Velociraptor shows

  @tool:resource:velociraptor://hunts/{hunt_id}
  Scenario: A hunt's page describes it as Velociraptor does
    Given a stopped hunt "opened" for "Generic.Client.Info" aimed at no client
    When I browse the hunt's page
    Then the server under test reports success
    And the page describes the hunt with the description and state Velociraptor shows

  @tool:resource:velociraptor://hunts/{hunt_id} @bad_input
  Scenario: The page of a hunt that does not exist answers not found
    When I browse the page of hunt "H.RAPTORSPEC0000"
    Then the server under test answers that "H.RAPTORSPEC0000" is not found

  @tool:resource:velociraptor://hunts/{hunt_id}/results @os:linux @slow
  Scenario: A finished hunt's results page holds the rows Velociraptor holds for it
    Given an enrolled linux client
    And a hunt "results-page" for "Linux.Sys.Users" that has finished on the client
    When I browse the hunt's results page
    Then the server under test reports success
    And the rows on the page equal Velociraptor's results of the hunt

  @tool:resource:velociraptor://hunts/{hunt_id}/results @bad_input
  Scenario: The results page of a hunt that does not exist answers not found
    When I browse the results page of hunt "H.RAPTORSPEC0000"
    Then the server under test answers that "H.RAPTORSPEC0000" is not found

  @tool:resource:velociraptor://hunts
  Scenario: The hunt list shows a hunt started since I last browsed it as running
    Given a paused hunt "browsed-then-started" for "Generic.Client.Info" aimed at no client
    And I have browsed the hunt list and seen the hunt "browsed-then-started" as PAUSED
    And someone then starts the hunt in Velociraptor
    When I browse the hunt list
    Then the page lists the hunt "browsed-then-started" as RUNNING

  @tool:resource:velociraptor://hunts/{hunt_id}
  Scenario: A hunt's page shows the hunt started since I last opened it as running
    Given a paused hunt "opened-then-started" for "Generic.Client.Info" aimed at no client
    And I have browsed the hunt's page and seen it PAUSED
    And someone then starts the hunt in Velociraptor
    When I browse the hunt's page
    Then the page describes the hunt with the description and state Velociraptor shows
