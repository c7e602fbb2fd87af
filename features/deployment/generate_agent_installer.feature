@tool:generate_agent_installer
Feature: Build an agent installer for a deployment
  As an analyst widening the scope of an incident
  I want an installer that enrolls endpoints with my deployment
  So that new machines report to the right Velociraptor server

  @bad_input
  Scenario: An installer for a deployment that does not exist is refused by name
    Given I note what the server under test keeps on disk
    When I ask for a windows agent installer for deployment "vr-raptorspec-none"
    Then the server under test reports an error that names "vr-raptorspec-none"
    And the server under test changed nothing on disk
