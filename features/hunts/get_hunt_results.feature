Feature: Read a hunt's results
  As an analyst reviewing what a hunt found
  I want the rows every client sent back for the hunt
  So that I can look for the indicator across all of them at once

  The rows are compared with Velociraptor's own results of the hunt, column by column,
  sorted, leaving out only fields that change from one read to the next.

  @tool:get_hunt_results @os:linux @slow @arg:hunt_id
  Scenario: A finished hunt's results are the rows Velociraptor holds for it
    Given an enrolled linux client
    And a hunt "users-sweep" for "Linux.Sys.Users" that has finished on the client
    When I ask for the hunt's results
    Then the server under test reports success
    And the rows the server under test returns equal Velociraptor's results of the hunt

  @tool:get_hunt_results @os:linux @slow
  Scenario: The results I ask for by artifact are that artifact's rows
    Given an enrolled linux client
    And a hunt "users-by-name" for "Linux.Sys.Users" that has finished on the client
    When I ask for the hunt's results for "Linux.Sys.Users"
    Then the server under test reports success
    And the rows the server under test returns equal Velociraptor's results of the hunt

  @tool:get_hunt_results @os:linux @slow @arg:artifact
  Scenario: The results I ask for of a hunt's second artifact are that artifact's rows
    Given an enrolled linux client
    And a hunt "two-sweep" for both "Generic.Client.Info" and "Linux.Sys.Users" that has finished on the client
    When I ask for the hunt's results for "Linux.Sys.Users"
    Then the server under test reports success
    And the rows the server under test returns equal Velociraptor's results of the hunt

  @tool:get_hunt_results @os:linux @slow @arg:limit
  Scenario: A limit caps how many of a hunt's rows I get, each one Velociraptor holds
    Given an enrolled linux client
    And a hunt "few-rows" for "Linux.Sys.Users" that has finished on the client with more than 2 rows
    When I ask for the hunt's results, keeping at most 2 rows
    Then the server under test reports success
    And the server under test returns exactly 2 rows, each one of Velociraptor's results of the hunt

  @tool:get_hunt_results @bad_input
  Scenario: Results of a hunt that does not exist are refused
    When I ask for the results of the hunt "H.RAPTORSPEC0000"
    Then the server under test answers that "H.RAPTORSPEC0000" is not found
