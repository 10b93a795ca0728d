// Waiting for an answer's first event before committing to it: the router does so to fall back
// when a backend fails before producing anything, and the Gateway to send a non-streamed
// answer's status line only once the generation has really started.

extension BackendResponse {
    /// Waits until the answer has produced its first event (or ended), then returns an answer
    /// that delivers every event. A failure before the first event is thrown here.
    public func afterFirstEvent() async throws -> BackendResponse {
        let response = self
        let (events, output) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        let firstOutcome = AsyncThrowingStream<Void, any Error>.makeStream()
        let forwarder = Task {
            var started = false
            do {
                for try await event in response.events {
                    output.yield(event)
                    if !started {
                        started = true
                        firstOutcome.continuation.finish()
                    }
                }
                firstOutcome.continuation.finish()
                output.finish()
            } catch {
                firstOutcome.continuation.finish(throwing: error)
                output.finish(throwing: error)
            }
        }
        let cancel: @Sendable () -> Void = {
            forwarder.cancel()
            response.cancel()
        }
        output.onTermination = { _ in cancel() }
        do {
            try await withTaskCancellationHandler {
                for try await _ in firstOutcome.stream {}
            } onCancel: {
                cancel()
            }
        } catch {
            cancel()
            throw error
        }
        return BackendResponse(model: response.model, choices: response.choices, promptTokens: response.promptTokens,
                               events: events, cancel: cancel)
    }
}
