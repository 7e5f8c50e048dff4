fn main() {
    println!("eslmatrix");
}
