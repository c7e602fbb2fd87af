@tool:run_vql
Feature: Run VQL on the server
  As an analyst hunting across the fleet
  I want to ask Velociraptor questions in VQL
  So that I can look for evidence no artifact collects yet

  Scenario: A query returns what Velociraptor returns
    When I run the VQL "SELECT client_id FROM clients()"
    Then the rows equal what Velociraptor returns for the same query

  @bad_input
  Scenario: Broken VQL is reported, not answered with nothing
    When I run the VQL "SELEKT * FROM nowhere()"
    Then the server under test reports an error that mentions the query
