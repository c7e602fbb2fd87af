@tool:collect_artifact
Feature: Collect an artifact from a client
  As an analyst investigating an endpoint
  I want to collect artifacts from it
  So that I have its evidence in Velociraptor

  @os:linux
  Scenario Outline: A collection of <artifact> finishes with well-formed rows
    Given an enrolled linux client
    When I collect "<artifact>" from the client
    Then the server under test reports success
    And Velociraptor shows the flow the server under test reported, collecting "<artifact>" on the client
    And the collection finishes within 90 seconds
    And each row Velociraptor holds for "<source>" matches the "<schema>" schema

    Examples:
      | artifact            | source                               | schema        |
      | Generic.Client.Info | Generic.Client.Info/BasicInformation | client-basic  |
      | Linux.Sys.Users     | Linux.Sys.Users                      | linux-user    |
      | Linux.Sys.Pslist    | Linux.Sys.Pslist                     | linux-process |

  @os:linux
  Scenario: The parameters I give reach the collection
    Given an enrolled linux client
    When I collect "Linux.Sys.Pslist" from the client with "processRegex" set to "velociraptor"
    Then Velociraptor shows the flow the server under test reported, collecting "Linux.Sys.Pslist" on the client
    And Velociraptor shows the collection's request with "processRegex" set to "velociraptor"
    And the collection finishes within 90 seconds
    And every row Velociraptor holds for "Linux.Sys.Pslist" has a "Name" containing "velociraptor"

  @os:linux @security
  Scenario: A parameter holding quotes and VQL reaches the collection unchanged
    Given an enrolled linux client
    When I collect "Linux.Sys.Users" from the client with "PasswordFile" set to "/nonexistent/it's "odd" OR 1=1 --}"
    Then Velociraptor shows the flow the server under test reported, collecting "Linux.Sys.Users" on the client
    And Velociraptor shows the collection's request with "PasswordFile" set to "/nonexistent/it's "odd" OR 1=1 --}"

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
