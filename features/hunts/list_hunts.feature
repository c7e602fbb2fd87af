Feature: List hunts
  As an analyst coordinating several hunts
  I want to see every hunt with the state Velociraptor holds for it
  So that I know which ones are still collecting

  The hunts here are limited to a label no client carries, so nothing runs on any endpoint.

  @tool:list_hunts
  Scenario: The hunts listed are Velociraptor's, each in its state
    Given a paused hunt "listed" for "Generic.Client.Info" aimed at no client
    When I list the hunts
    Then the server under test lists the hunt "listed" as PAUSED
    And every hunt the server under test lists has the state Velociraptor shows

  @tool:list_hunts
  Scenario: Listing hunts in one state shows only the hunts in that state
    Given a paused hunt "waiting" for "Generic.Client.Info" aimed at no client
    And a stopped hunt "finished-with" for "Generic.Client.Info" aimed at no client
    When I list the hunts that are PAUSED
    Then every hunt the server under test lists is PAUSED in Velociraptor
    And the server under test lists the hunt "waiting" as PAUSED
    And the server under test does not list the hunt "finished-with"
