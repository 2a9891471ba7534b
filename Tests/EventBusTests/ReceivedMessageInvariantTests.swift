import EventBus
import XCTest

/// `payload` and `headers` read as published in every state a backend may hand a message over in.
final class ReceivedMessageInvariantTests: XCTestCase {
    private final class Fetched: DeferredMessageContent {
        let payload: [UInt8]
        let headers: [MessageHeader]
        init(payload: [UInt8], headers: [MessageHeader]) {
            self.payload = payload
            self.headers = headers
        }
        func content(at index: Int) -> (payload: [UInt8], headers: [MessageHeader]) { (payload, headers) }
    }

    func testDeferredContentReadsAsPublishedBeforeAndAfterItIsCopied() throws {
        let source = Fetched(payload: Array("hello".utf8), headers: [MessageHeader(name: "X-A", value: "1")])
        var message = ReceivedMessage(topic: "t", key: "k", partition: 2, offset: 7, deferredContent: source, index: 0)
        XCTAssertEqual(message.payload, Array("hello".utf8))
        XCTAssertEqual(message.headers, [MessageHeader(name: "X-A", value: "1")])
        message.copyDeferredContent()
        XCTAssertEqual(message.payload, Array("hello".utf8))
        XCTAssertEqual(message.headers, [MessageHeader(name: "X-A", value: "1")])
    }

    func testASetterOnDeferredContentChangesOnlyWhatItSets() {
        let source = Fetched(payload: Array("hello".utf8), headers: [MessageHeader(name: "X-A", value: "1")])
        var message = ReceivedMessage(topic: "t", key: "k", partition: 0, offset: 0, deferredContent: source, index: 0)
        message.headers.append(MessageHeader(name: "X-B", value: "2"))
        XCTAssertEqual(message.payload, Array("hello".utf8))
        XCTAssertEqual(message.headers.map(\.name), ["X-A", "X-B"])
    }

    func testACarriedEnvelopeReadsAsItsJSONAndEnvelopeHeaders() throws {
        let envelope = Envelope(
            aggregateID: "order-1", eventType: "OrderPlaced", eventVersion: 2, payload: Array(#"{"n":1}"#.utf8))
        let trace = MessageHeader(name: "traceparent", value: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        var message = ReceivedMessage.carrying(envelope, topic: "orders", headers: [trace])
        // What a broker backend would deliver: the envelope's headers, then the ones added.
        let published = try OutgoingMessage(envelope: envelope, topic: "orders")
        XCTAssertEqual(try EnvelopeCodec.decode(message.payload), envelope)
        XCTAssertEqual(message.payload, published.payload)
        XCTAssertEqual(message.headers, published.headers + [trace])
        let materialized = try message.materialized()
        XCTAssertEqual(materialized.payload, message.payload)
        XCTAssertEqual(materialized.headers, message.headers)
        message.payload = Array("replaced".utf8)
        XCTAssertEqual(message.payload, Array("replaced".utf8))
        XCTAssertEqual(message.headers, published.headers + [trace])
    }
}
