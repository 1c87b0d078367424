// swift-tools-version:6.1
// Prism: a live, teachable event-sourced system in a terminal.
// One module per layer; see README.md ("Architecture") for the picture.
import PackageDescription

let package = Package(
    name: "Prism",
    products: [
        .executable(name: "prism", targets: ["prism"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Latency percentiles for `prism bench commands`.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // The HTTP services (`serve --http`, `query`). No default traits: Prism needs neither
        // swift-configuration nor the full-Foundation extras, and each costs build time.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // /metrics in the Prometheus text format, through the standard swift-metrics API.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Already under Hummingbird; named so the services may import their modules directly
        // (the channel handler that times out slow clients, the service group, the logger).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // Deque: the file log's in-memory tail drops its oldest chunk in O(1).
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // The PostgreSQL store's wire protocol client.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // CRC-32C with the CPU's crc32 instruction (Swift cannot emit it), for the log's checksums.
        .target(name: "CCRC32C"),
        // The seam: the `EventStore` protocol, the events that cross it, subscriptions, and the
        // in-memory store. Everything above it sees only this module, never a backend.
        .target(name: "EventStore"),
        // The file store: segments, checksums, group commit, tail cache (the embedded default).
        .target(
            name: "EventLog",
            dependencies: ["EventStore", "CCRC32C", .product(name: "DequeModule", package: "swift-collections")]),
        // The PostgreSQL store: the log in one table, appends serialised on a head row, LISTEN/NOTIFY
        // for followers. For teams whose writer and readers live on different machines.
        .target(
            name: "PostgresStore",
            dependencies: [
                "EventStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The generic CQRS engine: writer thread, projectors, checkpoints. Knows nothing of the shop.
        .target(name: "CQRS", dependencies: ["EventStore", "CCRC32C"]),
        // The demo domain of SPEC.md: commands, events, rules, the four views, the load generator.
        .target(name: "Shop", dependencies: ["CQRS", "EventStore"]),
        // ncursesw, reached through a shim for the macros and globals Swift cannot import.
        .systemLibrary(
            name: "CNCursesw",
            path: "Sources/CNCursesw",
            providers: [.apt(["libncursesw5-dev"])]
        ),
        // The terminal wrapper: one curses thread, cell grids, glyphs, colours, themes.
        .target(name: "Terminal", dependencies: ["CNCursesw"]),
        // The dashboard: panes, layout, keys; renders into Terminal's cell grid.
        .target(name: "Dashboard", dependencies: ["Terminal", "Shop", "CQRS", "EventStore"]),
        // Guided lessons: walkthrough files (Markdown), their parser and their step runner.
        .target(
            name: "Walkthrough",
            dependencies: ["Dashboard", "Shop", "CQRS", "EventStore"],
            resources: [.copy("Builtin")]
        ),
        // The HTTP services: the command service (`serve --http`) and query services (`query`),
        // their routes, limits, metrics and the service registry's heartbeat writer.
        .target(
            name: "HTTPServices",
            dependencies: [
                "Shop", "CQRS", "EventStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // The command line.
        .executableTarget(
            name: "prism",
            dependencies: [
                "EventStore", "EventLog", "PostgresStore", "CQRS", "Shop", "Terminal", "Dashboard", "Walkthrough",
                "HTTPServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .testTarget(name: "EventLogTests", dependencies: ["EventLog"]),
        // One conformance suite, the same test bodies against every store.
        .testTarget(name: "EventStoreTests", dependencies: ["EventStore", "EventLog", "PostgresStore", "CQRS"]),
        .testTarget(name: "CQRSTests", dependencies: ["CQRS", "EventLog", "Shop"]),
        .testTarget(name: "ShopTests", dependencies: ["Shop", "CQRS", "EventLog"]),
        .testTarget(name: "TerminalTests", dependencies: ["Terminal"]),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "Terminal", "Shop", "CQRS", "EventLog"]),
        .testTarget(name: "WalkthroughTests", dependencies: ["Walkthrough", "Dashboard", "Shop", "CQRS", "EventLog"]),
        .testTarget(name: "EndToEndTests", dependencies: ["EventLog", "PostgresStore"]),
    ],
    swiftLanguageModes: [.v6]
)
