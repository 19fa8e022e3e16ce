package dev.icedit.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's headless Chromium and chromedriver for browser tests (.ci/install-browser.sh installs them). Nothing is
 * downloaded: the driver path is given, so Selenium Manager is never asked. Screenshots go to target/screenshots/.
 */
public final class HeadlessChromium {
    public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    public static final Path SCREENSHOTS = Path.of("target/screenshots");

    private HeadlessChromium() {}

    /** Skips the test, loudly, when the browser is not installed. */
    public static void assumePresent() {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (!present) {
            System.out.println("[browser test] SKIPPED: " + CHROMIUM + " or " + CHROMEDRIVER + " is missing;"
                    + " run .ci/install-browser.sh (apt-get install chromium chromium-driver)");
        }
        Assumptions.assumeTrue(present, CHROMIUM + " or " + CHROMEDRIVER + " is missing (apt-get install chromium"
                + " chromium-driver; see .ci/install-browser.sh)");
    }

    /** A headless browser with a window of the given size and its profile under {@code tmp}. */
    public static WebDriver start(Path tmp, int width, int height) {
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=" + width + "," + height, "--user-data-dir=" + tmp.resolve("chromium-profile"));
        return new ChromeDriver(service, options);
    }

    /** Saves a screenshot of the window under target/screenshots/. */
    public static void screenshot(WebDriver driver, String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            byte[] png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
            Path file = SCREENSHOTS.resolve(name);
            Files.write(file, png);
            System.out.println("[browser test] screenshot: " + file.toAbsolutePath() + " (" + png.length + " bytes)");
        } catch (Exception e) {
            System.out.println("[browser test] no screenshot: " + e);
        }
    }
}
