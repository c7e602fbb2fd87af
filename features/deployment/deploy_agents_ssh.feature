@tool:deploy_agents_ssh
Feature: Push agents to Linux and macOS hosts over SSH
  As an analyst who must get agents onto servers now
  I want them pushed over SSH and enrolled with my deployment
  So that I can collect from those hosts within minutes

  The only host this spec names is a port on 127.0.0.1 that it owns and watches: nothing
  there answers, and every connection to it is counted.

  @bad_input
  Scenario: Pushing agents over SSH for a deployment that does not exist is refused and reaches no host
    Given a host of mine that watches for connections
    And I note what the server under test keeps on disk
    When I push agents over SSH to my host for deployment "vr-raptorspec-none"
    Then the server under test reports an error that names "vr-raptorspec-none"
    And nothing connected to my host
    And the server under test changed nothing on disk
