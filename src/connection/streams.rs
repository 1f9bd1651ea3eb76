//! Stream-id allocation for one connection: a bitmap of ids in use and the waiter
//! stored for each. Pure data structure (no I/O, no async); the connection task owns it.
//! An id is freed only when its response arrives or the connection dies, never on
//! caller cancellation: that is what keeps a late response from reaching another request.

/// Stream ids usable by requests on protocol v3+ (spec v4 section 2.3: positive i16).
pub(crate) const MAX_STREAMS: usize = 32_768;

/// Maps in-flight stream ids to their waiters.
///
/// Ids are handed out lowest-first, so the slot vector only grows to the largest
/// number of requests ever in flight at once.
#[derive(Debug)]
pub(crate) struct StreamMap<T> {
    /// One bit per id; 1 = in use.
    bits: Vec<u64>,
    slots: Vec<Option<T>>,
    in_use: usize,
    capacity: usize,
    /// First word that may hold a free bit.
    hint: usize,
}

impl<T> StreamMap<T> {
    /// A map handing out ids `0..capacity` (capacity at most [`MAX_STREAMS`]).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_STREAMS);
        Self {
            bits: vec![0; capacity.div_ceil(64)],
            slots: Vec::new(),
            in_use: 0,
            capacity,
            hint: 0,
        }
    }

    /// Number of ids currently reserved.
    pub(crate) fn in_use(&self) -> usize {
        self.in_use
    }

    /// Number of ids that can still be handed out.
    pub(crate) fn available(&self) -> usize {
        self.capacity - self.in_use
    }

    /// Reserves the lowest free id for `value`; `Err(value)` when every id is taken.
    pub(crate) fn insert(&mut self, value: T) -> Result<i16, T> {
        if self.in_use == self.capacity {
            return Err(value);
        }
        for w in self.hint..self.bits.len() {
            let word = self.bits[w];
            if word == u64::MAX {
                continue;
            }
            let bit = (!word).trailing_zeros() as usize;
            let id = w * 64 + bit;
            if id >= self.capacity {
                break;
            }
            self.bits[w] |= 1 << bit;
            self.hint = w;
            if self.slots.len() <= id {
                self.slots.resize_with(id + 1, || None);
            }
            self.slots[id] = Some(value);
            self.in_use += 1;
            // Ids < capacity <= 32768 always fit an i16.
            return Ok(id as i16);
        }
        Err(value)
    }

    /// Releases `id`, returning its waiter; `None` if nobody holds that id.
    pub(crate) fn remove(&mut self, id: i16) -> Option<T> {
        let idx = usize::try_from(id).ok()?;
        let value = self.slots.get_mut(idx)?.take()?;
        self.bits[idx / 64] &= !(1 << (idx % 64));
        self.in_use -= 1;
        self.hint = self.hint.min(idx / 64);
        Some(value)
    }

    /// The waiter holding `id`, if any.
    pub(crate) fn get(&self, id: i16) -> Option<&T> {
        let idx = usize::try_from(id).ok()?;
        self.slots.get(idx)?.as_ref()
    }

    /// Mutable access to the waiter holding `id`.
    pub(crate) fn get_mut(&mut self, id: i16) -> Option<&mut T> {
        let idx = usize::try_from(id).ok()?;
        self.slots.get_mut(idx)?.as_mut()
    }

    /// Iterates over every reserved id and its waiter.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i16, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|v| (i as i16, v)))
    }

    /// Iterates mutably over every reserved id's waiter.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().flatten()
    }

    /// Releases every id, yielding the waiters (used when the connection dies).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.bits.iter_mut().for_each(|w| *w = 0);
        self.in_use = 0;
        self.hint = 0;
        self.slots.drain(..).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_id_first_and_reuse_after_remove() {
        let mut m = StreamMap::new(MAX_STREAMS);
        assert_eq!(m.insert('a'), Ok(0));
        assert_eq!(m.insert('b'), Ok(1));
        assert_eq!(m.insert('c'), Ok(2));
        assert_eq!(m.remove(1), Some('b'));
        assert_eq!(m.remove(1), None, "an id is answered once");
        assert_eq!(m.insert('d'), Ok(1));
        assert_eq!(m.in_use(), 3);
        assert_eq!(m.get(2), Some(&'c'));
        assert_eq!(m.get(-1), None);
        assert_eq!(m.remove(-5), None);
        assert_eq!(m.remove(30_000), None);
    }

    #[test]
    fn full_map_refuses_then_accepts_after_release() {
        let mut m = StreamMap::new(MAX_STREAMS);
        for i in 0..MAX_STREAMS {
            assert_eq!(m.insert(i), Ok(i as i16));
        }
        assert_eq!(m.available(), 0);
        assert_eq!(m.insert(99_999), Err(99_999));
        assert_eq!(m.remove(12_345), Some(12_345));
        assert_eq!(m.insert(7), Ok(12_345));
        assert_eq!(m.insert(8), Err(8));
        assert_eq!(m.remove(i16::MAX), Some(32_767));
    }

    #[test]
    fn small_capacity_is_respected() {
        let mut m = StreamMap::new(3);
        assert!(m.insert(()).is_ok());
        assert!(m.insert(()).is_ok());
        assert!(m.insert(()).is_ok());
        assert!(m.insert(()).is_err());
    }

    #[test]
    fn drain_releases_everything() {
        let mut m = StreamMap::new(100);
        for i in 0..50 {
            m.insert(i).unwrap();
        }
        m.remove(10);
        let drained: Vec<_> = m.drain().collect();
        assert_eq!(drained.len(), 49);
        assert_eq!(m.in_use(), 0);
        assert_eq!(m.insert(1), Ok(0));
        assert_eq!(m.iter().count(), 1);
    }
}
