#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How RoPE pairs up the dimensions of a head it rotates.
public enum RopeStyle: Sendable, Equatable {
    /// Adjacent pairs (x[2i], x[2i+1]): the original LLaMA layout, ggml's "normal" rope.
    case interleaved
    /// Halves (x[i], x[i + d/2]): GPT-NeoX layout, used by Qwen2 and Gemma 3 (ggml's "neox").
    case halves
}

/// Rotary position embedding, in place, of `heads` vectors of width `headDim` laid side by side
/// at `x`, for a token at `position`.
///
/// Pair i (of `ropeDims / 2`) turns by `freqScale * position * freqBase^(-2i / ropeDims)`; the
/// angle is stepped by one multiplication per pair, in Float, and rounded as ggml rounds it. Dimensions past
/// `ropeDims` are left as they are. `frequencyFactors` (`ropeDims / 2` values, e.g. Llama 3.1's
/// `rope_freqs`) divide the angle of each pair when given.
public func applyRope(
    _ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, ropeDims: Int, position: Int,
    freqBase: Float, freqScale: Float = 1, frequencyFactors: UnsafePointer<Float>? = nil, style: RopeStyle
) {
    let pairs = ropeDims / 2
    let thetaScale = powf(freqBase, -2 / Float(ropeDims))
    var theta = Float(position)
    for i in 0..<pairs {
        let angle = freqScale * (frequencyFactors.map { theta / $0[i] } ?? theta)
        let c = cosf(angle), s = sinf(angle)
        let (a, b) = style == .interleaved ? (2 * i, 2 * i + 1) : (i, i + pairs)
        var h = 0
        while h < heads {
            let v = x + h * headDim
            let x0 = v[a], x1 = v[b]
            // x0 c - x1 s and x0 s + x1 c, each with its first product fused into the sum, as
            // ggml's C compiles them (GCC contracts a*b ± c*d to fma(a, b, ±c*d)).
            v[a] = (-(x1 * s)).addingProduct(x0, c)
            v[b] = (x1 * c).addingProduct(x0, s)
            h += 1
        }
        theta *= thetaScale
    }
}
