//! The `rotor` binary.

fn main() {
    println!("rotor: the server is not built yet");
}
