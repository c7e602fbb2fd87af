Feature: List hunts
  As an analyst coordinating several hunts
  I want to see every hunt with the state Velociraptor holds for it
  So that I know which ones are still collecting

  The hunts here are limited to a label no client carries, so nothing runs on any endpoint.
  Velociraptor 0.77.2 names a hunt's states PAUSED, RUNNING, STOPPED, ARCHIVED and DELETED
  (api/proto/hunts.proto); a hunt can no longer become ARCHIVED (see modify_hunt) and a
  DELETED one is gone from the listing, so the three states a listing can show are checked.
  Where a limit is checked, the lab holds more hunts than the limit, matching or not, made
  oldest first so that a limit applied before the state shows.

  @tool:list_hunts
  Scenario: The hunts listed are Velociraptor's, each in its state
    Given a paused hunt "listed" for "Generic.Client.Info" aimed at no client
    When I list the hunts
    Then the server under test lists the hunt "listed" as PAUSED
    And every hunt the server under test lists has the state Velociraptor shows

  @tool:list_hunts @arg:state
  Scenario: Listing hunts in one state shows only the hunts in that state
    Given a paused hunt "waiting" for "Generic.Client.Info" aimed at no client
    And a stopped hunt "finished-with" for "Generic.Client.Info" aimed at no client
    When I list the hunts that are PAUSED
    Then every hunt the server under test lists is PAUSED in Velociraptor
    And the server under test lists the hunt "waiting" as PAUSED
    And the server under test does not list the hunt "finished-with"

  @tool:list_hunts
  Scenario Outline: A <state> hunt is listed as <state>
    Given a <word> hunt "in-<word>-state" for "Generic.Client.Info" aimed at no client
    When I list the hunts
    Then the server under test lists the hunt "in-<word>-state" as <state>

    Examples:
      | word    | state   |
      | paused  | PAUSED  |
      | running | RUNNING |
      | stopped | STOPPED |

  @tool:list_hunts @arg:limit
  Scenario: A limit caps how many hunts are listed, each one Velociraptor holds
    Given 3 paused hunts "capped" for "Generic.Client.Info" aimed at no client
    When I list the hunts, keeping at most 2
    Then the server under test lists exactly 2 hunts, each one Velociraptor holds

  @tool:list_hunts
  Scenario: The state asked for is applied before the limit
    Given 3 stopped hunts "older-stopped" for "Generic.Client.Info" aimed at no client
    And 3 paused hunts "paused" for "Generic.Client.Info" aimed at no client
    And 3 stopped hunts "newer-stopped" for "Generic.Client.Info" aimed at no client
    When I list the hunts that are PAUSED, keeping at most 2
    Then the server under test lists exactly 2 hunts, each one Velociraptor holds
    And every hunt the server under test lists is PAUSED in Velociraptor

  @tool:list_hunts
  Scenario: A hunt started since my last listing is listed as running
    Given a paused hunt "started-since" for "Generic.Client.Info" aimed at no client
    And I have listed the hunts and seen the hunt "started-since" as PAUSED
    And someone then starts the hunt in Velociraptor
    When I list the hunts
    Then the server under test lists the hunt "started-since" as RUNNING

  @tool:list_hunts @arg:limit
  Scenario: A limit of one lists a single hunt, one Velociraptor holds
    Given 2 paused hunts "only-one" for "Generic.Client.Info" aimed at no client
    When I list the hunts, keeping at most 1
    Then the server under test lists a single hunt, one Velociraptor holds

  @tool:list_hunts @arg:state
  Scenario Outline: Listing the <state> hunts shows no hunt in another state
    Given a paused hunt "is-paused" for "Generic.Client.Info" aimed at no client
    And a running hunt "is-running" for "Generic.Client.Info" aimed at no client
    And a stopped hunt "is-stopped" for "Generic.Client.Info" aimed at no client
    When I list the hunts that are <state>
    Then every hunt the server under test lists is <state> in Velociraptor
    And the server under test lists the hunt "is-<word>" as <state>

    Examples:
      | state   | word    |
      | PAUSED  | paused  |
      | RUNNING | running |
      | STOPPED | stopped |
