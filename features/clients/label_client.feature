@tool:label_client
Feature: Label a client
  As an analyst triaging an incident
  I want to tag endpoints with labels
  So that hunts can target exactly the machines in scope

  Background:
    Given an enrolled linux client

  @arg:client_id @arg:labels
  Scenario: A label I add is on the client in Velociraptor
    When I add the label "case-4711" to the client
    Then the server under test reports success
    And Velociraptor shows the client with the label "case-4711"

  Scenario: Adding a label keeps the client's other labels
    Given the client has the label "case-1"
    When I add the label "case-2" to the client
    Then Velociraptor shows the client with the label "case-1"
    And Velociraptor shows the client with the label "case-2"

  @arg:operation
  Scenario: Removing a label takes it off the client
    Given the client has the label "case-4711"
    When I remove the label "case-4711" from the client
    Then the server under test reports success
    And Velociraptor shows the client without the label "case-4711"

  @arg:labels
  Scenario: Every label I add in one go is on the client
    When I add the labels "case-a" and "case-b" to the client
    Then Velociraptor shows the client with the label "case-a"
    And Velociraptor shows the client with the label "case-b"

  Scenario: The labels the server says the client has are the ones Velociraptor shows
    Given the client has the label "case-1"
    When I add the label "case-2" to the client
    Then the labels the server under test states for the client are the ones Velociraptor shows

  Scenario: Removing one label leaves the others
    Given the client has the label "keep-me"
    And the client has the label "drop-me"
    When I remove the label "drop-me" from the client
    Then Velociraptor shows the client without the label "drop-me"
    And Velociraptor shows the client with the label "keep-me"

  @bad_input
  Scenario: Labelling a client that does not exist is refused and changes nothing
    When I add the label "case-4711" to the client "C.0000000000000000"
    Then the server under test reports an error that names "C.0000000000000000"
    And Velociraptor knows no client "C.0000000000000000"
    And no client in Velociraptor carries the label "case-4711"

  @security @exclusive
  Scenario Outline: A label holding quotes or VQL is stored exactly as given
    When I add the label "<label>" to the client
    Then the server under test reports success
    And Velociraptor shows the client with its labels and "<label>", nothing else

    Examples:
      | label                          |
      | it's "odd"                     |
      | x', op='remove                 |
      | a' OR 1=1 --                   |
      | {SELECT * FROM clients()}      |
      | x'\n-- a                       |
      | x\\' OR 1=1 --                 |
      | x'; SELECT * FROM clients() -- |
      | x} {y                          |
      | ünïcødé-日本-ö'                  |
