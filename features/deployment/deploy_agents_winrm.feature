@tool:deploy_agents_winrm
Feature: Push agents to Windows hosts over WinRM
  As an analyst who must get agents onto Windows machines now
  I want them pushed over WinRM and enrolled with my deployment
  So that I can collect from those hosts within minutes

  The only host this spec names is a port on 127.0.0.1 that it owns and watches: nothing
  there answers, and every connection to it is counted.

  @bad_input
  Scenario: Pushing agents over WinRM for a deployment that does not exist is refused and reaches no host
    Given a host of mine that watches for connections
    And I note what the server under test keeps on disk
    When I push agents over WinRM to my host for deployment "vr-raptorspec-none"
    Then the server under test reports an error that names "vr-raptorspec-none"
    And nothing connected to my host
    And the server under test changed nothing on disk
