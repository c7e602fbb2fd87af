@tool:generate_api_credentials @security
Feature: Issue API credentials for a deployment
  As an engineer connecting tools to a Velociraptor deployment
  I want API credentials issued for that deployment
  So that my tools talk to the right server with a key of their own

  @bad_input
  Scenario: Credentials for a deployment that does not exist are refused by name
    Given I note what the server under test keeps on disk
    When I ask for API credentials for deployment "vr-raptorspec-none"
    Then the server under test reports an error that names "vr-raptorspec-none"
    And the server under test changed nothing on disk
