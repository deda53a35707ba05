/// What the stream processor maintains for u2i2i recall: each user's recent items as
/// seeds, and the recall list composed from them (see ``U2I2IComposer``). Events weigh
/// by the model's ``ModelParameters/actionWeights`` (1 each without).
public struct RecallParameters: Sendable, Hashable {
    /// The i2i lists seeds expand through.
    public var blend: RecallBlend
    public var options = RecallOptions()
    /// Distinct recent items kept per user (0 = all).
    public var recentItems: Int = 50
    /// Recency half-life of seed weights, in milliseconds of event time (nil: no decay).
    public var halfLifeMillis: Int64?

    public init(blend: RecallBlend) { self.blend = blend }

    public var fingerprint: String {
        "blend=\(blend),\(options.fingerprint),recent=\(recentItems),halfLife=\(halfLifeMillis.map(String.init) ?? "none")"
    }
}
