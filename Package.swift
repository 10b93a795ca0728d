// swift-tools-version: 6.1
import PackageDescription

// The engine's hot loops need an explicit CPU target: without it Swift's SIMD code runs 10-25x
// slower. The CLI checks at start-up that the CPU supports what the build uses.
#if arch(x86_64)
let engineSwiftFlags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell", "-enforce-exclusivity=unchecked"]),
]
let engineCFlags: [CSetting] = [.unsafeFlags(["-O3", "-mavx2", "-mfma", "-mf16c"])]
#else
let engineSwiftFlags: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
let engineCFlags: [CSetting] = [.unsafeFlags(["-O3"])]
#endif

let package = Package(
    name: "Studio",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "studio", targets: ["StudioCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // Bytes on disk: GGUF and safetensors. Imports nothing of ours.
        .target(name: "ModelFormats", swiftSettings: engineSwiftFlags),
        // Quantized dot products with AVX2 intrinsics (Swift never emits vpmaddubsw).
        .target(name: "CKernels", cSettings: engineCFlags),
        // Block-quant formats, dequantize, GEMV/GEMM, thread pool.
        .target(name: "Kernels", dependencies: ["CKernels"], swiftSettings: engineSwiftFlags),
        .target(name: "Tokenizers", swiftSettings: engineSwiftFlags),
        .target(name: "ChatTemplates"),
        .target(name: "Models", dependencies: ["ModelFormats", "Kernels"], swiftSettings: engineSwiftFlags),
        .target(
            name: "Inference",
            dependencies: ["Models", "ModelFormats", "Kernels", "Tokenizers", "ChatTemplates"],
            swiftSettings: engineSwiftFlags),
        .target(
            name: "ModelHub",
            dependencies: [
                "ModelFormats",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]),
        // The ChatBackend protocol: the local engine, remote OpenAI-compatible engines, routing.
        .target(
            name: "Backends",
            dependencies: [
                "Inference", "ModelHub", "Models", "Tokenizers", "ChatTemplates",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        // Studio's own data in SQLite (GRDB): keys, audit log, prompt versions, votes.
        .target(
            name: "Store",
            dependencies: [
                "ChatTemplates",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // The HTTP server: OpenAI-compatible /v1 routes, metrics, middleware.
        .target(
            name: "Gateway",
            dependencies: [
                "Backends", "Inference", "ChatTemplates", "Store", "ModelHub",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            // The web workbench's files, compiled into the binary (no resource bundle to lose).
            resources: [.embedInCode("Web")]),
        .executableTarget(
            name: "StudioCLI",
            dependencies: [
                "ModelFormats", "ModelHub", "Tokenizers", "Models", "Inference", "Kernels", "Backends", "Gateway", "Store",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),  // no CPU target here: main() checks the CPU before any engine code runs

        .testTarget(name: "ModelFormatsTests", dependencies: ["ModelFormats"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"], swiftSettings: engineSwiftFlags),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "ModelFormats", "Inference"]),
        .testTarget(name: "ChatTemplatesTests", dependencies: ["ChatTemplates"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "ModelFormats", "Kernels"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "Models", "ModelFormats", "Tokenizers"]),
        .testTarget(
            name: "ModelHubTests",
            dependencies: [
                "ModelHub", "ModelFormats",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .testTarget(
            name: "BackendsTests",
            dependencies: [
                "Backends", "Inference", "ChatTemplates", "Models", "ModelFormats", "Tokenizers",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "ChatTemplates"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "Backends", "Inference", "ChatTemplates", "ModelFormats", "Store", "ModelHub",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            exclude: ["python", "browser"]),  // pytest suites that drive a real `studio serve` (scripts/test.sh runs them)
        .testTarget(
            name: "StudioCLITests",
            dependencies: ["StudioCLI", .product(name: "Crypto", package: "swift-crypto")]),
    ],
    swiftLanguageModes: [.v6]
)
