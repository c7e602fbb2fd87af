@tool:get_client_info
Feature: Look at one client
  As an analyst about to investigate an endpoint
  I want its details: host name, OS, labels, when it was last seen
  So that I know I am looking at the right machine

  Background:
    Given an enrolled linux client

  @arg:client_id
  Scenario: The details are Velociraptor's for that client
    When I ask for the client's details
    Then the server under test reports success
    And the details are Velociraptor's for the client: its id, hostname and OS

  @bad_input
  Scenario: Asking about a client that does not exist is refused
    When I ask for the details of client "C.0000000000000000"
    Then the server under test reports an error that names "C.0000000000000000"
    And Velociraptor knows no client "C.0000000000000000"

  @bad_input @security
  Scenario Outline: A client id holding quotes or VQL shows no client
    When I ask for the details of client "<id>"
    Then the reply describes no enrolled client
    And Velociraptor knows no client "<id>"

    Examples:
      | id                               |
      | C.0' OR 1=1 --                   |
      | ' OR client_id =~ '.' OR '       |
      | C.0", client_id="                |
      | C.0' OR 1=1\n--                  |
      | C.0\\' OR 1=1 --                 |
      | C.0'; SELECT * FROM clients() -- |
      | C.0} {                           |
      | C.0ö-日本' OR 1=1 --               |

  Scenario: The details carry the labels Velociraptor shows on the client
    Given the client has the label "case-77"
    When I ask for the client's details
    Then the details carry the labels Velociraptor shows on the client

  @security
  Scenario: A client's details carry no key material
    When I ask for the client's details
    Then the reply carries no key material from the lab

  Scenario: The details carry the machine's architecture, as Velociraptor recorded it
    When I ask for the client's details
    Then the details carry the machine architecture Velociraptor shows for the client
