// The envelope codec's fuzz target: properties checked on arbitrary bytes (see Docs/Reliability.md).
//
// scripts/fuzz.sh builds it with `-sanitize=fuzzer,address -D EVENTBUS_LIBFUZZER`, so libFuzzer's
// driver calls `LLVMFuzzerTestOneInput`. Built like any other target (`swift build`), the same
// executable replays the files and directories named on its command line instead, to reproduce a
// finding without the sanitizer runtime: `swift run EventBusFuzz Tests/Fuzz/corpus`.
//
// The sanitizer flags live only in the script: unsafe flags in Package.swift would make the package
// unusable as a dependency.

import EventBus
import Foundation

#if EVENTBUS_LIBFUZZER
    import CLibFuzzer
#endif

/// One checked property failed: print what and the input, then trap so libFuzzer saves the input.
func violation(_ property: String, _ input: UnsafeRawBufferPointer, _ detail: String = "") -> Never {
    let text = String(decoding: input, as: UTF8.self)
    FileHandle.standardError.write(
        Data("EventBusFuzz: property violated: \(property)\n\(detail)\ninput: \(text.debugDescription)\n".utf8))
    fatalError("EventBusFuzz: \(property)")
}

/// Whether Foundation's JSON parser reads `bytes` (the differential oracle).
func foundationParses(_ bytes: some Collection<UInt8>, fragments: Bool) -> Bool {
    (try? JSONSerialization.jsonObject(with: Data(bytes), options: fragments ? [.fragmentsAllowed] : [])) != nil
}

/// A refusal must be typed: one of the codec's two codes, naming a field, never retriable.
func checkRefusal(_ error: EventBusError, _ input: UnsafeRawBufferPointer, field expected: String? = nil) {
    guard error.code == .malformedEnvelope || error.code == .invalidEnvelope, let field = error.field,
        !error.isRetriable
    else { violation("refusals are typed and name a field", input, "\(error)") }
    if let expected, field != expected {
        violation("a refused payload is named as field \(expected)", input, "\(error)")
    }
}

/// The input as a whole envelope: decode never crashes; what it accepts encodes, decodes back equal,
/// and Foundation reads (the input, the re-encoded bytes, the payload alone).
func checkAsEnvelope(_ input: UnsafeRawBufferPointer) {
    let envelope: Envelope
    do {
        envelope = try EnvelopeCodec.decode(input)
    } catch {
        checkRefusal(error, input)
        return
    }
    let encoded: [UInt8]
    do {
        encoded = try EnvelopeCodec.encode(envelope)
    } catch {
        violation("a decoded envelope encodes", input, "\(error)")
    }
    do {
        let again = try EnvelopeCodec.decode(encoded)
        guard again == envelope else {
            violation("decode(encode(decoded)) == decoded", input, "\(envelope)\n\(again)")
        }
    } catch {
        violation("encoded bytes decode", input, "\(error)")
    }
    guard foundationParses(UnsafeRawBufferPointer(input), fragments: false) else {
        violation("Foundation parses what decode accepts", input)
    }
    guard foundationParses(encoded, fragments: false) else {
        violation("Foundation parses what encode writes", input, String(decoding: encoded, as: UTF8.self))
    }
    guard foundationParses(envelope.payload, fragments: true) else {
        violation("Foundation parses a decoded payload alone", input)
    }
}

/// The input as a payload: validation never crashes; what it accepts encodes, decodes back equal
/// and Foundation reads; what it refuses is refused naming `payload`.
func checkAsPayload(_ input: UnsafeRawBufferPointer) {
    let envelope = Envelope(
        eventID: "e-1", aggregateID: "a", eventType: "T", eventVersion: 1,
        timestamp: EventTimestamp(nanosecondsSinceEpoch: 1_795_608_000_123_456_789), payload: Array(input))
    do {
        try EnvelopeCodec.validate(envelope)
    } catch {
        checkRefusal(error, input, field: "payload")
        return
    }
    do {
        let encoded = try EnvelopeCodec.encode(envelope)
        guard try EnvelopeCodec.decode(encoded) == envelope else {
            violation("a validated payload round-trips exactly", input)
        }
        guard foundationParses(encoded, fragments: false) else {
            violation("Foundation parses an encoded envelope", input, String(decoding: encoded, as: UTF8.self))
        }
    } catch {
        violation("a validated envelope encodes and decodes", input, "\(error)")
    }
    guard foundationParses(envelope.payload, fragments: true) else {
        violation("Foundation parses a payload validate accepts", input)
    }
}

/// The input as RFC 3339 text: what parses prints as text that parses to the same instant.
func checkAsTimestamp(_ input: UnsafeRawBufferPointer) {
    guard input.count <= 96, let text = String(validating: input, as: UTF8.self),
        let timestamp = try? EventTimestamp(rfc3339: text)
    else { return }
    guard (try? EventTimestamp(rfc3339: timestamp.rfc3339)) == timestamp else {
        violation("a parsed timestamp's rfc3339 parses back equal", input, timestamp.rfc3339)
    }
}

func checkAll(_ input: UnsafeRawBufferPointer) {
    checkAsEnvelope(input)
    checkAsPayload(input)
    checkAsTimestamp(input)
}

/// Checks one input for libFuzzer; the inputs' memory is valid only during the call.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    checkAll(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The entry point: libFuzzer's driver under scripts/fuzz.sh, a replay of input files otherwise.
///
/// SwiftPM links every executable with `main` aliased to this module's entry point, so libFuzzer's own
/// `main` cannot be used; `LLVMFuzzerRunDriver` is the same driver, called from here instead.
@main
enum EnvelopeFuzzEntry {
    static func main() {
        #if EVENTBUS_LIBFUZZER
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
        #else
            replay(CommandLine.arguments.dropFirst())
        #endif
    }

    /// Checks every file named, and every file in every directory named; exits 2 for a missing path.
    static func replay(_ arguments: ArraySlice<String>) {
        var checked = 0
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("EventBusFuzz: no such file: \(argument)\n".utf8))
                exit(2)
            }
            let paths =
                isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []).sorted().map {
                    argument + "/" + $0
                } : [argument]
            for path in paths {
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                Array(data).withUnsafeBytes { checkAll($0) }
                checked += 1
            }
        }
        print("EventBusFuzz: \(checked) inputs checked, every property held")
    }
}
