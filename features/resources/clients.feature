Feature: Browse clients
  As an analyst getting my bearings in an investigation
  I want to browse the endpoints Velociraptor knows, and open one of them
  So that I can see at a glance which machines I can work on

  @tool:resource:velociraptor://clients
  Scenario: The client list holds exactly the clients Velociraptor knows
    Given an enrolled linux client
    When I browse the client list
    Then the server under test reports success
    And the page lists exactly the clients Velociraptor knows

  @tool:resource:velociraptor://clients/{client_id}
  Scenario: A client's page describes it as Velociraptor does
    Given an enrolled linux client
    When I browse the client's page
    Then the server under test reports success
    And the page describes the client with the hostname and OS Velociraptor shows

  @tool:resource:velociraptor://clients/{client_id} @bad_input
  Scenario: The page of a client that does not exist answers not found
    When I browse the page of client "C.0000000000000000"
    Then the server under test answers that "C.0000000000000000" is not found

  @tool:resource:velociraptor://clients/{client_id}
  Scenario: A client's page shows a label added since I last opened it
    Given an enrolled linux client
    And I have browsed the client's page and not seen the label "added-since"
    And someone then adds the label "added-since" to the client in Velociraptor
    When I browse the client's page
    Then the page shows the client with the label "added-since"

  @tool:resource:velociraptor://clients
  Scenario: The client list shows a label added since I last browsed it
    Given an enrolled linux client
    And I have browsed the client list and not seen the label "listed-since" on the client
    And someone then adds the label "listed-since" to the client in Velociraptor
    When I browse the client list
    Then the page shows the client with the label "listed-since"
