use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};
use std::hint::black_box;
use std::time::Instant;

fn time<F: FnMut()>(name: &str, mut f: F) {
    let n = 200_000;
    for _ in 0..n / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!("{name}: {:.0} ns", t.elapsed().as_nanos() as f64 / n as f64);
}

fn main() {
    let key = [1u8; 32];
    let mut buf = vec![5u8; 220];
    let nonce = XNonce::from([3u8; 24]);
    let c = XChaCha20Poly1305::new_from_slice(&key).unwrap();
    let tag = c
        .encrypt_in_place_detached(&nonce, b"hdr", &mut buf)
        .unwrap();
    let ct = buf.clone();
    time("new cipher", || {
        black_box(XChaCha20Poly1305::new_from_slice(black_box(&key)).unwrap());
    });
    time("decrypt 220B", || {
        let mut b = ct.clone();
        let c = XChaCha20Poly1305::new_from_slice(&key).unwrap();
        c.decrypt_in_place_detached(&nonce, b"hdr", &mut b, &Tag::from(tag))
            .unwrap();
        black_box(b);
    });
    for len in [0usize, 16, 64, 128, 256, 512, 1024] {
        let mut b = vec![5u8; len];
        let tag = c.encrypt_in_place_detached(&nonce, b"hdr", &mut b).unwrap();
        let ct = b.clone();
        time(&format!("decrypt {len}"), || {
            let mut b = ct.clone();
            c.decrypt_in_place_detached(&nonce, b"hdr", &mut b, &Tag::from(tag))
                .unwrap();
            black_box(b);
        });
    }
    let c2 = chacha20poly1305::ChaCha20Poly1305::new_from_slice(&key).unwrap();
    let n12 = chacha20poly1305::Nonce::from([3u8; 12]);
    for len in [0usize, 256] {
        let mut b = vec![5u8; len];
        let tag = c2.encrypt_in_place_detached(&n12, b"hdr", &mut b).unwrap();
        let ct = b.clone();
        time(&format!("ietf decrypt {len}"), || {
            let mut b = ct.clone();
            c2.decrypt_in_place_detached(&n12, b"hdr", &mut b, &Tag::from(tag))
                .unwrap();
            black_box(b);
        });
    }
    let mut x = 0u64;
    time("1000 dependent mults", || {
        for i in 0..1000u64 {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
    });
    let s = "A".repeat(356);
    time("alloc+9 strings", || {
        let v: Vec<String> = (0..9).map(|i| s[..20 + i].to_owned()).collect();
        black_box(v);
    });
}
