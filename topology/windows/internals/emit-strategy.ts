// When a windowed aggregate forwards (Kafka Streams' EmitStrategy): on every update of a window (through
// the store's cache when it has one), or once per window when it closes (end + grace <= stream time).
export type EmitStrategy = 'on-window-update' | 'on-window-close'
