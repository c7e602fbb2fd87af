Feature: Browse deployments
  As an analyst who had the server deploy Velociraptor for an incident
  I want to browse the deployments it manages, and open one of them
  So that I can find the deployment I am working with

  Deployments are the server's own records, not Velociraptor's: there is nothing for the
  oracle to compare them with, so this spec holds the list and the pages to each other and
  asks for a clear not-found.

  @tool:resource:velociraptor://deployments
  Scenario: Every deployment on the list opens on its own page
    When I browse the deployment list
    Then the server under test reports success
    And every deployment on the page opens on its own page

  @tool:resource:velociraptor://deployments/{deployment_id} @bad_input
  Scenario: The page of a deployment that does not exist answers not found
    When I browse the page of deployment "vr-raptorspec-0000"
    Then the server under test answers that "vr-raptorspec-0000" is not found
