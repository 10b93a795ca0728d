// The work of one scheduler tick, gathered before anything runs: one decode token for every
// generating slot, then prompt chunks for prefilling slots within a per-tick budget.
//
// The scheduler runs all entries as one multi-sequence forward (`LanguageModel.forward(sequences:)`):
// every entry's tokens go through each weight matrix once, each with its own KV cache and
// position. That is where the aggregate throughput of concurrent decoding comes from, since a
// decode step of one token is bound by reading the weights.

import Models

/// One sequence's share of a tick.
struct SchedulerBatchEntry {
    let slot: Int
    let tokens: [Int]
    /// Whether the last token's logits are needed (decode, or the final chunk of a prompt).
    let wantsLogits: Bool
    /// Every token's logits: a prompt chunk of a task that scores its prompt.
    var allLogits = false

    /// What the forward pass returns for this entry.
    var logits: LogitsSelection { allLogits ? .all : wantsLogits ? .last : .none }
}

struct SchedulerBatch {
    var entries: [SchedulerBatchEntry] = []

    /// The most prompt tokens a task that scores its prompt runs per tick: each brings a row of logits
    /// (a vocabulary of floats) and a log-softmax on the loop thread, which bounds both the
    /// tick's memory and the pause it adds for the decoding slots.
    static let scoredChunk = 64

    /// Replaces the entries with this tick's work: decode tokens first (they are what the users
    /// are waiting on), then prompt chunks of the prefilling slots in the order they started,
    /// at most `prefillBudget` prompt tokens in all (and at least one chunk, so a prompt always
    /// progresses). Reusing one batch keeps a decode-only tick free of allocations: the entry
    /// array keeps its storage and each slot reuses its one-token input array.
    mutating func gather(slots: [SchedulerSlot], prefillBudget: Int) {
        entries.removeAll(keepingCapacity: true)
        var prefillingCount = 0
        for slot in slots {
            switch slot.state {
            case .generating:
                if let token = slot.pendingToken {
                    entries.append(SchedulerBatchEntry(slot: slot.index, tokens: slot.decodeInput(token), wantsLogits: true))
                }
            case .prefilling:
                prefillingCount += 1
            case .idle:
                break
            }
        }
        guard prefillingCount > 0 else { return }
        var budget = max(1, prefillBudget)
        let prefilling = slots.filter { $0.state == .prefilling }.sorted {
            ($0.job?.started ?? .now) < ($1.job?.started ?? .now)
        }
        for slot in prefilling where budget > 0 {
            guard let prompt = slot.job?.request.prompt else { continue }
            let remaining = prompt.count - slot.promptCursor
            let scored = slot.job?.request.promptLogprobs != nil
            let n = min(remaining, budget, scored ? Self.scoredChunk : budget)
            guard n > 0 else { continue }
            budget -= n
            entries.append(SchedulerBatchEntry(
                slot: slot.index, tokens: Array(prompt[slot.promptCursor..<(slot.promptCursor + n)]),
                wantsLogits: n == remaining, allLogits: scored))
        }
    }

    var tokenCount: Int { entries.reduce(0) { $0 + $1.tokens.count } }
}
