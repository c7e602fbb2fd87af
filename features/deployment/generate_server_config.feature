@tool:generate_server_config
Feature: Produce a deployment's server configuration
  As an engineer rebuilding or auditing a Velociraptor server
  I want the configuration of a deployment the server manages
  So that I can compare it with what runs, or stand it up again

  @bad_input
  Scenario: The configuration of a deployment that does not exist is refused by name
    Given I note what the server under test keeps on disk
    When I ask for the server configuration of deployment "vr-raptorspec-none"
    Then the server under test reports an error that names "vr-raptorspec-none"
    And the server under test changed nothing on disk
