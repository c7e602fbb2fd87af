@tool:list_deployments
Feature: List the deployments the server manages
  As an analyst who had the server stand up Velociraptor for an incident
  I want the list of the deployments it manages, with how many there are
  So that I can find the one I am working with and see that it still answers

  Deployments are the server's own records, not Velociraptor's: this spec holds the list to
  itself and to the status of each deployment on it. It never deploys anything, so on a
  fresh server the list may well be empty.

  Scenario: The list says how many deployments it holds
    When I list the deployments
    Then the server under test reports success
    And the number of deployments it gives is the number it lists

  @tool:get_deployment_status
  Scenario: Every deployment on the list answers for its status
    When I list the deployments
    Then the server under test reports success
    And the status of every listed deployment can be asked for
