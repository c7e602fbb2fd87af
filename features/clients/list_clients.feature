@tool:list_clients
Feature: List and search the enrolled clients
  As an analyst scoping an incident
  I want to see which endpoints are enrolled, and find them by name or label
  So that I know which machines I can investigate

  Background:
    Given an enrolled linux client

  Scenario: The clients listed are the clients Velociraptor knows
    When I list the clients
    Then the server under test reports success
    And the clients listed are the clients Velociraptor knows
    And each client listed has the hostname and OS Velociraptor shows for it

  Scenario: A search by hostname finds the client and no other host
    When I search for clients by the client's hostname
    Then the client is among the clients listed
    And only clients with the client's hostname are listed

  @arg:search
  Scenario: A search by label lists exactly the clients carrying it
    Given the client has the label "scope-a"
    And 2 more clients carry the label "scope-a"
    When I search for clients labelled "scope-a"
    Then the clients listed are the 3 Velociraptor finds labelled "scope-a"

  @arg:limit
  Scenario: A limit caps how many clients a search lists
    Given the client has the label "scope-b"
    And 2 more clients carry the label "scope-b"
    When I search for clients labelled "scope-b", keeping at most 1
    Then the server under test lists exactly 1 of the clients Velociraptor finds labelled "scope-b"

  Scenario: A search that matches nothing lists no client
    When I search for clients matching "raptorspec-no-such-host"
    Then the server under test lists no client

  Scenario: Each client listed carries the labels Velociraptor shows for it
    Given the client has the label "scope-c"
    When I list the clients
    Then each client listed carries the labels Velociraptor shows for it

  @security
  Scenario Outline: A client search holding quotes or VQL cannot widen the list
    When I search for clients matching "<search>"
    Then the server under test lists no client, or refuses the search

    Examples:
      | search                         |
      | x' OR 1=1 --                   |
      | x" OR TRUE OR "                |
      | x') OR (1=1                    |
      | x'; SELECT * FROM clients() -- |

  @security
  Scenario Outline: A client search holding <shape> lists what Velociraptor finds for that text
    When I search for clients matching "<search>"
    Then the server under test reports success
    And the clients listed are the ones Velociraptor finds for "<search>"

    Examples:
      | shape                     | search                         |
      | a quote, a newline and -- | x' OR 1=1\n--                  |
      | a backslash-escaped quote | x\\' OR 1=1 --                 |
      | a semicolon               | x'; SELECT * FROM clients() -- |
      | braces                    | {SELECT * FROM clients()}      |
      | non-ASCII text            | hôst-日本' OR 1=1 --             |

  @security
  Scenario: The list of clients carries no key material
    When I list the clients
    Then the reply carries no key material from the lab
