@tool:run_vql
Feature: Run VQL on the server
  As an analyst with a question no artifact answers
  I want to run my own VQL query
  So that I get exactly what Velociraptor answers to it

  @arg:query
  Scenario Outline: A query returns what Velociraptor returns: <what>
    Given the query "<query>"
    When I run the query
    Then the server under test reports success
    And its rows equal the rows Velociraptor returns for it

    Examples:
      | what           | query                                                                                        |
      | the clients    | SELECT client_id, os_info.hostname AS hostname FROM clients()                                |
      | artifact names | SELECT name, type FROM artifact_definitions() WHERE name =~ '^Linux.Sys.' ORDER BY name      |
      | a computed row | SELECT 6 * 7 AS answer, format(format='%v-%v', args=['raptor', 'spec']) AS word FROM scope() |

  @arg:env
  Scenario: A variable I pass reaches the query
    Given the query "SELECT Greeting AS word FROM scope()"
    And the query's variable "Greeting" is "raptorspec"
    When I run the query
    Then the server under test reports success
    And the query saw the variable "Greeting" holding "raptorspec", however encoded

  Scenario: A variable's text reaches the query exactly as I gave it
    Given the query "SELECT Greeting AS word FROM scope()"
    And the query's variable "Greeting" is "raptorspec"
    When I run the query
    Then its rows equal the rows Velociraptor returns for it

  @arg:max_rows
  Scenario: A row cap returns the first rows only
    Given the query "SELECT _value AS n FROM range(start=0, end=50)"
    When I run the query, keeping at most 10 of its rows
    Then it returns exactly the first 10 of the rows Velociraptor returns for it

  @arg:org_id
  Scenario: A query I run in another organisation runs there
    Given a second organisation in Velociraptor
    And the query "SELECT org().id AS org, org().name AS name FROM scope()"
    When I run the query in that organisation
    Then its rows equal the rows Velociraptor returns for it in that organisation

  @bad_input
  Scenario: Broken VQL is reported, not answered with nothing
    When I run the VQL "SELEKT * FROM nowhere()"
    Then the server under test reports an error that names "SELEKT"
    And it does not report an empty result as success

  @bad_input
  Scenario: A query on a plugin that does not exist is reported
    When I run the VQL "SELECT * FROM raptorspec_no_such_plugin()"
    Then the server under test reports an error that names "raptorspec_no_such_plugin"
    And it does not report an empty result as success

  Scenario: The number of rows the server states is the number Velociraptor returns
    Given the query "SELECT _value AS n FROM range(start=0, end=30)"
    When I run the query, keeping at most 100 of its rows
    Then its rows equal the rows Velociraptor returns for it
    And every row count the server under test states is the number of rows Velociraptor returns for it

  @security
  Scenario: A variable holding quotes and VQL stays a value
    Given the query "SELECT Greeting AS word FROM scope()"
    And the query's variable "Greeting" is "x' OR 1=1 --", {SELECT * FROM clients()}"
    When I run the query
    Then its rows equal the rows Velociraptor returns for it

  @security
  Scenario Outline: A variable holding <shape> stays a value
    Given the query "SELECT Greeting AS word FROM scope()"
    And the query's variable "Greeting" is "<value>"
    When I run the query
    Then its rows equal the rows Velociraptor returns for it

    Examples:
      | shape                     | value                          |
      | a quote, a newline and -- | x' OR 1=1\n--                  |
      | a backslash-escaped quote | x\\' OR 1=1 --                 |
      | a semicolon               | x'; SELECT * FROM clients() -- |
      | braces                    | {SELECT * FROM clients()} }{   |
      | non-ASCII text            | ünïcødé-日本-ö'                  |
