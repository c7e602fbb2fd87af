@tool:cancel_flow
Feature: Cancel a collection
  As an analyst who started the wrong or a runaway collection
  I want to stop it
  So that the endpoint stops working on it

  Background:
    Given an enrolled linux client

  @slow @arg:client_id @arg:flow_id
  Scenario: A long-running collection gets cancelled
    Given the client has a collection that runs for minutes
    When I cancel that collection
    Then the server under test reports success
    And Velociraptor shows that collection cancelled

  @bad_input
  Scenario: Cancelling a collection that does not exist is refused and stops nothing
    Given the client has a collection that runs for minutes
    When I cancel collection "F.RAPTORSPEC0000" on the client
    Then the server under test reports an error that names "F.RAPTORSPEC0000"
    And Velociraptor shows that collection still running

  @bad_input @security
  Scenario: A flow id holding quotes or VQL cancels nothing
    Given the client has a collection that runs for minutes
    When I cancel collection "F.X' OR 1=1 --" on the client
    Then Velociraptor shows that collection still running
