@tool:list_flows
Feature: List a client's collections
  As an analyst following up on an endpoint
  I want to see the collections run on it and their states
  So that I know what evidence exists and what is still running

  Background:
    Given an enrolled linux client

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

  Scenario: A limit caps how many flows are listed
    Given the client has a finished collection of "Generic.Client.Info"
    And the client has a finished collection of "Linux.Sys.Users"
    When I list the client's flows, keeping at most 1
    Then the server under test lists exactly 1 of the client's flows in Velociraptor

  @bad_input
  Scenario: Listing the flows of a client that does not exist is refused
    When I list the flows of client "C.0000000000000000"
    Then the server under test reports an error that names "C.0000000000000000"
    And Velociraptor knows no client "C.0000000000000000"

  @bad_input @security
  Scenario Outline: A client id holding quotes or VQL lists no flow of another client
    Given the client has a finished collection of "Generic.Client.Info"
    When I list the flows of client "<id>"
    Then none of the client's flows is listed

    Examples:
      | id                          |
      | C.0' OR 1=1 --              |
      | ' OR client_id =~ '.' OR '  |
