@tool:export_deployment_docs
Feature: Document a deployment
  As an analyst handing over an incident
  I want the access details and procedures of a deployment written up
  So that the next shift can pick up the Velociraptor server I used

  @bad_input
  Scenario: Documenting a deployment that does not exist is refused by name
    Given I note what the server under test keeps on disk
    When I ask for the documentation of deployment "vr-raptorspec-none"
    Then the server under test reports an error that names "vr-raptorspec-none"
    And the server under test changed nothing on disk
