// The value a KTable forwards: the new value of a key and the one it replaces, `null` for absent (a
// tombstone). Old values let a re-grouped table subtract an entity from the group it left.

export class Change<V> {
  constructor(
    readonly newValue: V | null,
    readonly oldValue: V | null,
  ) {}
}
