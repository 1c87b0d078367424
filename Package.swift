// swift-tools-version:6.0
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
        // Deque: the file log's in-memory tail drops its oldest chunk in O(1).
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
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
        // The command line.
        .executableTarget(
            name: "prism",
            dependencies: [
                "EventStore", "EventLog", "CQRS", "Shop", "Terminal", "Dashboard", "Walkthrough",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .testTarget(name: "EventLogTests", dependencies: ["EventLog"]),
        // One conformance suite, the same test bodies against every store.
        .testTarget(name: "EventStoreTests", dependencies: ["EventStore", "EventLog", "CQRS"]),
        .testTarget(name: "CQRSTests", dependencies: ["CQRS", "EventLog", "Shop"]),
        .testTarget(name: "ShopTests", dependencies: ["Shop", "CQRS", "EventLog"]),
        .testTarget(name: "TerminalTests", dependencies: ["Terminal"]),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "Terminal", "Shop", "CQRS", "EventLog"]),
        .testTarget(name: "WalkthroughTests", dependencies: ["Walkthrough", "Dashboard", "Shop", "CQRS", "EventLog"]),
        .testTarget(name: "EndToEndTests", dependencies: ["EventLog"]),
    ],
    swiftLanguageModes: [.v6]
)
