@tool:get_flow_results
Feature: Read the results of a collection
  As an analyst reviewing evidence
  I want the rows a collection produced
  So that I can analyse exactly what Velociraptor collected

  Background:
    Given an enrolled linux client

  @os:linux
  Scenario Outline: The rows of <source> are Velociraptor's rows
    Given the client has a finished collection of "<artifact>"
    When I fetch the results of that collection for "<source>"
    Then the server under test reports success
    And the rows equal Velociraptor's rows of that collection for "<source>"

    Examples:
      | artifact            | source                               |
      | Generic.Client.Info | Generic.Client.Info/BasicInformation |
      | Generic.Client.Info | Generic.Client.Info/DetailedInfo     |
      | Linux.Sys.Users     | Linux.Sys.Users                      |
      | Linux.Sys.Pslist    | Linux.Sys.Pslist                     |

  @os:linux
  Scenario: A limit caps how many result rows come back
    Given the client has a finished collection of "Linux.Sys.Users"
    When I fetch the results of that collection for "Linux.Sys.Users", keeping at most 3
    Then the server under test returns exactly 3 of Velociraptor's rows for "Linux.Sys.Users"

  @bad_input
  Scenario: Results of a collection that does not exist are refused
    When I fetch the results of collection "F.RAPTORSPEC0000" on the client
    Then the server under test reports an error that names "F.RAPTORSPEC0000"

  @bad_input @security
  Scenario: A flow id holding quotes or VQL returns no rows
    Given the client has a finished collection of "Linux.Sys.Users"
    When I fetch the results of collection "F.X' OR 1=1 --" on the client
    Then the server under test returns no rows

  @os:linux
  Scenario: A limit caps the rows of a collection with several sources
    Given the client has a finished collection of "Generic.Client.Info"
    When I fetch the results of that collection, keeping all but one of its rows
    Then the server under test returns all but one of the rows Velociraptor holds for that collection
    And the server under test says rows were left out

  @os:linux
  Scenario: A limit that falls at the end of one source still says rows were left out
    Given the client has a finished collection of "Generic.Client.Info"
    When I fetch the results of that collection, keeping as many rows as its first source holds
    Then the server under test returns as many rows as the first source holds, each one Velociraptor holds for that collection
    And the server under test says rows were left out
