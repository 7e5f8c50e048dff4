//! The one place that knows about threads: a window must live on the main thread
//! (minifb's rule), so the window opens on the calling thread and the body that draws
//! runs on a worker.

use std::sync::Arc;

use super::bus::Bus;
use super::output::{Output, OutputError};
use super::sim_wiring::virtual_chain;
use super::spec::{BackendSpec, OutputSpec};
use super::window::{Mailbox, MinifbScreen, Pump, Screen, WindowView};
use crate::driver::{Intensity, Wiring};

/// Runs `body` with an [`Output`] opened for `spec`.
///
/// This is the one place that knows about threads: a window must live on the main thread
/// (minifb's rule), so for the window backend the window opens here, on the calling thread
/// (call this from `main`'s thread), and `body` runs on a worker thread. Closing the window
/// makes `Output::is_open` false; the call returns once `body` has returned. Every command
/// that shows frames goes through this function.
pub fn with_output<T, E>(
    spec: &OutputSpec,
    body: impl FnOnce(&mut Output) -> Result<T, E> + Send,
) -> Result<T, E>
where
    T: Send,
    E: From<OutputError> + Send,
{
    let OutputSpec { wiring, intensity, .. } = *spec;
    if let BackendSpec::Window { pitch } = spec.backend {
        let title = format!("eslmatrix — {}×{} modules", wiring.modules_x, wiring.modules_y);
        let mut screen =
            MinifbScreen::open(&title, wiring.logical_size(), pitch).map_err(OutputError::from)?;
        let power = spec.power;
        let body = move |out: &mut Output| {
            out.driver_mut().set_budget(power);
            body(out)
        };
        return with_screen(&mut screen, pitch, wiring, intensity, body);
    }
    run_to_finish(Output::open(spec)?, body)
}

/// Runs `body` on `out`, then finishes the output (the view's last picture, log flush).
fn run_to_finish<T, E: From<OutputError>>(
    mut out: Output,
    body: impl FnOnce(&mut Output) -> Result<T, E>,
) -> Result<T, E> {
    let result = body(&mut out)?;
    out.finish()?;
    Ok(result)
}

/// The window backend over any [`Screen`]: `body` on a worker thread drawing into a
/// virtual chain, the screen pumped here.
fn with_screen<T, E>(
    screen: &mut impl Screen,
    pitch: u32,
    wiring: Wiring,
    intensity: Intensity,
    body: impl FnOnce(&mut Output) -> Result<T, E> + Send,
) -> Result<T, E>
where
    T: Send,
    E: From<OutputError> + Send,
{
    let mailbox = Arc::new(Mailbox::default());
    let view = WindowView::new(mailbox.clone());
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || -> Result<T, E> {
            let chain = virtual_chain(&wiring).map_err(OutputError::from)?;
            run_to_finish(Output::with_bus(Bus::Chain(chain), Box::new(view), wiring, intensity)?, body)
        });
        let pumped = Pump::new(pitch).run(screen, &mailbox, || worker.is_finished());
        if pumped.is_err() {
            // The window broke: tell the worker as if it had been closed.
            mailbox.close();
        }
        let result = worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let result = result?;
        pumped.map_err(|e| E::from(OutputError::View(e)))?;
        Ok(result)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::window::tests::FakeScreen;
    use crate::driver::wiring::ModuleWiring;
    use crate::render::Frame;

    fn wiring(modules_x: u32) -> Wiring {
        Wiring::new(modules_x, 1).unwrap()
    }

    fn frame_with(w: u32, lit: &[u32]) -> Frame {
        let mut f = Frame::new(w, 8);
        for &x in lit {
            f.set(x as i32, 0, true);
        }
        f
    }

    #[test]
    fn the_window_shows_the_work_until_the_person_closes_it() {
        let mut screen = FakeScreen::new((64 * 16, 8 * 16), usize::MAX);
        screen.close_after_presents = 3;
        let w = wiring(8);
        // The body is an ordinary command loop: it ends because the window closed.
        let shown = with_screen(&mut screen, 16, w, Intensity::MAX, |out| -> Result<u32, OutputError> {
            let mut n = 0;
            while out.is_open() {
                out.show(&frame_with(64, &[n % 64]))?;
                n += 1;
                std::thread::yield_now();
            }
            Ok(n)
        })
        .unwrap();
        assert!(shown >= 3, "the worker ran: {shown} frames");
        assert_eq!(screen.presented.len(), 3);
        let (w, h, pixels) = &screen.presented[0];
        assert_eq!((*w, *h), (64 * 16, 8 * 16));
        let red = pixels.iter().filter(|&&p| (p >> 16) & 0xff > 180 && (p >> 8) & 0xff < 90).count();
        assert!(red > 0, "a lit LED is painted red");
    }

    #[test]
    fn the_window_ends_with_the_work_and_returns_its_result() {
        let mut screen = FakeScreen::new((32 * 16, 8 * 16), usize::MAX);
        let wiring = wiring(4).with_module(ModuleWiring::FC16);
        let result = with_screen(
            &mut screen,
            16,
            wiring,
            Intensity::new(3).unwrap(),
            |out| -> Result<&str, OutputError> {
                out.show(&frame_with(32, &[0, 31]))?;
                Ok("done")
            },
        );
        assert_eq!(result.unwrap(), "done");
        let failed = with_screen(
            &mut screen,
            16,
            wiring,
            Intensity::new(3).unwrap(),
            |_| -> Result<(), OutputError> {
                Err(OutputError::Log(std::io::Error::other("bus on fire").into()))
            },
        );
        assert!(failed.unwrap_err().to_string().contains("bus on fire"));
    }

    #[test]
    fn window_pictures_follow_the_chain_intensity() {
        // Intensity 0 (duty 1/32) paints a darker red than intensity 15 (31/32).
        let reddest = |intensity: u8| {
            let mut screen = FakeScreen::new((8 * 4, 8 * 4), usize::MAX);
            screen.close_after_presents = 1;
            with_screen(
                &mut screen,
                4,
                wiring(1),
                Intensity::new(intensity).unwrap(),
                |out| -> Result<(), OutputError> {
                    while out.is_open() {
                        out.show(&frame_with(8, &[0]))?;
                        out.show(&frame_with(8, &[1]))?;
                        std::thread::yield_now();
                    }
                    Ok(())
                },
            )
            .unwrap();
            screen.presented[0].2.iter().map(|p| (p >> 16) & 0xff).max().unwrap()
        };
        assert!(reddest(0) < reddest(15), "{} vs {}", reddest(0), reddest(15));
    }
}
