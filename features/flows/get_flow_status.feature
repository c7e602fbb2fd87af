@tool:get_flow_status
Feature: Check on a collection
  As an analyst waiting for evidence
  I want to know whether a collection is still running, finished or failed
  So that I read its results at the right time

  Background:
    Given an enrolled linux client

  @arg:client_id @arg:flow_id
  Scenario: A finished collection is reported finished, with Velociraptor's row count
    Given the client has a finished collection of "Linux.Sys.Users"
    When I ask for the status of that collection
    Then the server under test reports success
    And the state reported is the state Velociraptor shows for that collection
    And the rows collected it reports are the number Velociraptor shows

  Scenario: A running collection is reported as running
    Given the client has a collection that runs for minutes
    When I ask for the status of that collection
    Then the state reported is the state Velociraptor shows for that collection

  @bad_input
  Scenario: The status of a collection that does not exist is refused
    When I ask for the status of collection "F.RAPTORSPEC0000" on the client
    Then the server under test reports an error that names "F.RAPTORSPEC0000"
