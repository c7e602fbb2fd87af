@tool:list_flows
Feature: List a client's collections
  As an analyst following up on an endpoint
  I want to see the collections run on it and their states
  So that I know what evidence exists and what is still running

  Velociraptor 0.77.2 shows a collection RUNNING or IN_PROGRESS while it runs, FINISHED when
  done, and ERROR when it failed or was cancelled; each is checked in a listing. The scenario
  about another client needs a lab with two clients on one host (`--clients 2`): it is
  skipped, saying so, with one.

  Background:
    Given an enrolled linux client

  @arg:client_id
  Scenario: A finished collection is listed in the state Velociraptor shows
    Given the client has a finished collection of "Generic.Client.Info"
    When I list the client's flows
    Then the server under test reports success
    And that collection is among the flows listed
    And every flow listed is one of the client's flows in Velociraptor, in the state it shows

  Scenario: A running collection is listed as running
    Given the client has a collection that runs for minutes
    When I list the client's flows
    Then that collection is among the flows listed
    And every flow listed is one of the client's flows in Velociraptor, in the state it shows

  @arg:limit
  Scenario: A limit caps how many flows are listed
    Given the client has a finished collection of "Generic.Client.Info"
    And the client has a finished collection of "Linux.Sys.Users"
    When I list the client's flows, keeping at most 1
    Then the server under test lists exactly 1 of the client's flows in Velociraptor

  Scenario: A cancelled collection is listed in the state Velociraptor shows
    Given the client has a cancelled collection
    When I list the client's flows
    Then that collection is among the flows listed
    And every flow listed is one of the client's flows in Velociraptor, in the state it shows

  @arg:limit
  Scenario: A limit below the number of collections lists that many, all the client's
    Given the client has 3 finished collections of "Generic.Client.Info"
    When I list the client's flows, keeping at most 2
    Then the server under test lists exactly 2 of the client's flows in Velociraptor

  Scenario: Only the client's own collections are listed when another client shares its host
    Given another enrolled client on the same host, with a finished collection of "Generic.Client.Info"
    And the client has a finished collection of "Generic.Client.Info"
    When I list the client's flows
    Then none of the other client's flows is listed

  @bad_input
  Scenario: Listing the flows of a client that does not exist is refused
    When I list the flows of client "C.0000000000000000"
    Then the server under test reports an error that names "C.0000000000000000"
    And Velociraptor knows no client "C.0000000000000000"

  @bad_input @security
  Scenario Outline: A client id holding quotes or VQL lists no flow of another client
    Given the client has a finished collection of "Generic.Client.Info"
    When I list the flows of client "<id>"
    Then no flow of any client is listed

    Examples:
      | id                          |
      | C.0' OR 1=1 --              |
      | ' OR client_id =~ '.' OR '  |

  @slow @exclusive
  Scenario: Without a limit, 50 collections are listed when the client has more
    Given the client has more than 50 collections
    When I list the client's flows
    Then the server under test lists exactly 50 of the client's flows in Velociraptor
