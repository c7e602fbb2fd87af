Feature: Answers come in bounded time, side by side, and whole
  As an analyst who asks big or endless questions
  I want a query that never ends to come back as an error in bounded time, other requests
  to be answered meanwhile, and long answers to come back whole
  So that one bad question neither freezes my session nor cuts an answer short silently

  @tool:run_vql @slow
  Scenario: A query that never ends comes back as an error within 60 seconds
    When I run the VQL "SELECT * FROM clock(period=5)", waiting at most 90 seconds
    Then the server under test reports an error within 60 seconds

  @tool:run_vql @tool:list_clients @slow
  Scenario: While a slow query runs, another request is answered within 10 seconds
    Given an enrolled linux client
    When I run a query that takes 20 seconds and meanwhile list the clients
    Then the listing came back within 10 seconds, before the slow query
    And the listing holds the client

  @tool:list_artifacts
  Scenario: Listing every artifact gives all of Velociraptor's artifacts
    When I list the artifacts, keeping at most 5000
    Then the server under test lists exactly the artifacts Velociraptor has

  @tool:run_vql
  Scenario: A large query result comes back whole
    Given the query "SELECT _value AS n, format(format='%0250d', args=_value) AS padding FROM range(start=0, end=4000)"
    When I run the query
    Then its rows equal the rows Velociraptor returns for it
