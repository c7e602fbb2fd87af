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
