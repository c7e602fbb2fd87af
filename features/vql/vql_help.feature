@tool:vql_help
Feature: Get help with VQL
  As an analyst new to VQL
  I want help on its syntax, plugins and functions
  So that I can write my own queries

  Scenario: Help without a topic introduces VQL
    When I ask for VQL help
    Then the server under test reports success
    And the help mentions "VQL"

  @arg:topic
  Scenario Outline: Help on <topic> covers that topic
    When I ask for VQL help on "<topic>"
    Then the server under test reports success
    And the help mentions "<word>"
    And the help differs from the help without a topic

    Examples:
      | topic     | word    |
      | syntax    | SELECT  |
      | plugins   | clients |
      | functions | format  |
      | examples  | FROM    |

  @arg:topic
  Scenario Outline: Help on <topic> names a <kind> Velociraptor has
    When I ask for VQL help on "<topic>"
    Then the server under test reports success
    And the help names "<name>", which Velociraptor has as a <kind> only

    Examples:
      | topic     | kind     | name         |
      | plugins   | plugin   | pslist       |
      | functions | function | base64encode |
