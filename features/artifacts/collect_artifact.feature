@tool:collect_artifact @exclusive
Feature: Collect an artifact from a client
  As an analyst investigating an endpoint
  I want to collect artifacts from it
  So that I have its evidence in Velociraptor

  @os:linux @arg:client_id @arg:artifacts
  Scenario Outline: A collection of <artifact> finishes with well-formed rows
    Given an enrolled linux client
    When I collect "<artifact>" from the client
    Then Velociraptor shows a collection of "<artifact>" started on the client
    And the collection finishes within 90 seconds
    And each row Velociraptor holds for "<source>" matches the "<schema>" schema

    Examples:
      | artifact            | source                               | schema        |
      | Generic.Client.Info | Generic.Client.Info/BasicInformation | client-basic  |
      | Linux.Sys.Users     | Linux.Sys.Users                      | linux-user    |
      | Linux.Sys.Pslist    | Linux.Sys.Pslist                     | linux-process |

  @os:linux @arg:parameters
  Scenario: The parameters I give reach the collection
    Given an enrolled linux client
    When I collect "Linux.Sys.Pslist" from the client with "processRegex" set to "velociraptor"
    Then Velociraptor shows a collection of "Linux.Sys.Pslist" started on the client
    And Velociraptor shows the collection's request with "processRegex" set to "velociraptor"
    And the collection finishes within 90 seconds
    And every row Velociraptor holds for "Linux.Sys.Pslist" has a "Name" containing "velociraptor"

  @os:linux @security
  Scenario: A parameter holding quotes and VQL reaches the collection unchanged
    Given an enrolled linux client
    When I collect "Linux.Sys.Users" from the client with "PasswordFile" set to "/nonexistent/it's "odd" OR 1=1 --}"
    Then Velociraptor shows a collection of "Linux.Sys.Users" started on the client
    And Velociraptor shows the collection's request with "PasswordFile" set to "/nonexistent/it's "odd" OR 1=1 --}"

  @os:linux @security
  Scenario Outline: A parameter holding <shape> reaches the collection unchanged
    Given an enrolled linux client
    When I collect "Linux.Sys.Users" from the client with "PasswordFile" set to "<value>"
    Then Velociraptor shows a collection of "Linux.Sys.Users" started on the client
    And Velociraptor shows the collection's request with "PasswordFile" set to "<value>"

    Examples:
      | shape                     | value                                    |
      | a quote, a newline and -- | /nonexistent/x' OR 1=1\n--               |
      | a backslash-escaped quote | /nonexistent/x\\' OR 1=1 --              |
      | a semicolon               | /nonexistent/x'; SELECT * FROM info() -- |
      | braces                    | /nonexistent/x} {y                       |
      | non-ASCII text            | /nonexistent/ünï-日本-ö'                   |

  @os:linux @arg:artifacts
  Scenario: Every artifact I collect in one go is in the collection's request
    Given an enrolled linux client
    When I collect "Generic.Client.Info" and "Linux.Sys.Users" from the client in one go
    Then Velociraptor shows a collection of "Generic.Client.Info" started on the client
    And Velociraptor shows the collection's request naming exactly "Generic.Client.Info" and "Linux.Sys.Users"

  @os:linux
  Scenario: Every artifact I collect in one go brings its rows
    Given an enrolled linux client
    When I collect "Generic.Client.Info" and "Linux.Sys.Users" from the client in one go
    Then Velociraptor shows a collection of "Generic.Client.Info" started on the client
    And the collection finishes within 90 seconds
    And Velociraptor holds rows for "Generic.Client.Info/BasicInformation" in the collection
    And Velociraptor holds rows for "Linux.Sys.Users" in the collection

  @os:linux @arg:timeout
  Scenario: The time limit I give reaches the collection
    Given an enrolled linux client
    When I collect "Generic.Client.Info" from the client with a time limit of 123 seconds
    Then Velociraptor shows a collection of "Generic.Client.Info" started on the client
    And Velociraptor shows the collection's request with a time limit of 123 seconds

  @os:linux @arg:urgent
  Scenario: An urgent collection is urgent in Velociraptor
    Given an enrolled linux client
    When I collect "Generic.Client.Info" from the client urgently
    Then Velociraptor shows a collection of "Generic.Client.Info" started on the client
    And Velociraptor shows the collection's request marked urgent

  @os:linux
  Scenario: The collection the server reports is the one Velociraptor started
    Given an enrolled linux client
    When I collect "Generic.Client.Info" from the client
    Then the server under test reports success
    And Velociraptor shows the flow the server under test reported, collecting "Generic.Client.Info" on the client

  @os:linux
  Scenario: The collection the server reports names the artifacts Velociraptor collects
    Given an enrolled linux client
    When I collect "Generic.Client.Info" from the client
    Then every artifact the server under test says it collects is in the collection's request in Velociraptor

  @bad_input @security
  Scenario Outline: Collecting from a client id holding <shape> starts nothing
    Given an enrolled linux client
    When I collect "Generic.Client.Info" from client "<id>"
    Then Velociraptor knows no client "<id>"
    And Velociraptor shows no new collection on any client

    Examples:
      | shape                     | id                               |
      | a quote, a newline and -- | C.0' OR 1=1\n--                  |
      | a backslash-escaped quote | C.0\\' OR 1=1 --                 |
      | a semicolon               | C.0'; SELECT * FROM clients() -- |
      | braces                    | C.0} {                           |
      | non-ASCII text            | C.0ö-日本' OR 1=1 --               |

  @bad_input @security
  Scenario Outline: Collecting an artifact name holding <shape> starts nothing
    Given an enrolled linux client
    When I collect "<name>" from the client
    Then Velociraptor defines no artifact named "<name>"
    And Velociraptor shows no new collection on any client

    Examples:
      | shape                     | name                                          |
      | a quote, a newline and -- | Generic.Client.Info' OR 1=1\n--               |
      | a backslash-escaped quote | Generic.Client.Info\\' OR 1=1 --              |
      | a semicolon               | Generic.Client.Info'; SELECT * FROM info() -- |
      | braces                    | Generic.Client.Info} {                        |
      | non-ASCII text            | Generic.Client.Info-ünï-日本'                   |

  @bad_input
  Scenario: Collecting an artifact that does not exist is refused
    Given an enrolled linux client
    When I collect "Custom.Raptorspec.NoSuchArtifact" from the client
    Then the server under test reports an error that names "Custom.Raptorspec.NoSuchArtifact"
    And Velociraptor shows no flow started on the client

  @bad_input
  Scenario: Collecting from a client that does not exist is refused
    When I collect "Generic.Client.Info" from client "C.0000000000000000"
    Then the server under test reports an error that names "C.0000000000000000"
    And Velociraptor knows no client "C.0000000000000000"

  @os:windows
  Scenario Outline: A Windows collection of <artifact> finishes with well-formed rows
    Given an enrolled windows client
    When I collect "<artifact>" from the client
    Then Velociraptor shows the flow the server under test reported, collecting "<artifact>" on the client
    And the collection finishes within 120 seconds
    And each row Velociraptor holds for "<source>" matches the "<schema>" schema

    Examples:
      | artifact              | source                               | schema          |
      | Generic.Client.Info   | Generic.Client.Info/BasicInformation | client-basic    |
      | Windows.System.Pslist | Windows.System.Pslist                | windows-process |

  @os:macos
  Scenario Outline: A macOS collection of <artifact> finishes with well-formed rows
    Given an enrolled macos client
    When I collect "<artifact>" from the client
    Then Velociraptor shows the flow the server under test reported, collecting "<artifact>" on the client
    And the collection finishes within 120 seconds
    And each row Velociraptor holds for "<source>" matches the "<schema>" schema

    Examples:
      | artifact            | source                               | schema        |
      | Generic.Client.Info | Generic.Client.Info/BasicInformation | client-basic  |
      | MacOS.Sys.Pslist    | MacOS.Sys.Pslist                     | macos-process |
