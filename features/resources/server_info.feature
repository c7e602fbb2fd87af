Feature: Browse the server's information
  As an analyst checking what I am connected to
  I want to see which Velociraptor this is and where it runs
  So that I know which version's artifacts and behaviour to expect

  @tool:resource:velociraptor://server-info
  Scenario: The server information gives Velociraptor's version
    When I browse the server information
    Then the server under test reports success
    And the page gives the version Velociraptor reports

  @tool:resource:velociraptor://server-info
  Scenario: The server information describes the host Velociraptor runs on
    When I browse the server information
    Then the server under test reports success
    And the page gives the hostname and OS Velociraptor reports for its server
