package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.icedit.testing.CliRun;
import dev.icedit.testing.HeadlessChromium;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;

/**
 * The evaluation's HTML pages in real headless Chromium at a laptop's 1280 px: the matrix page of the committed
 * KnowEdit runs (docs/results/knowedit) and one run's report.html. Each must have its charts and intervals and must
 * not scroll sideways. Screenshots go to target/screenshots/.
 */
class ReportBrowserTest {
    static final Path KNOWEDIT = Path.of("docs/results/knowedit");

    @TempDir Path tmp;

    @Test
    void matrixReportOfTheCommittedRunsHasChartsAndIntervalsAndFitsA1280PxScreen() throws Exception {
        HeadlessChromium.assumePresent();
        Path page = tmp.resolve("matrix.html");
        CliRun r = CliRun.of("report", "--out", page.toString(), "--resamples", "500", KNOWEDIT.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("(30 runs)");
        WebDriver driver = HeadlessChromium.start(tmp, 1280, 1000);
        try {
            driver.get(page.toUri().toString());
            // 5 groups (4 single datasets, continual ZsRE); a bar chart per metric; the continual curves as images
            assertThat(driver.findElements(By.cssSelector("h2[id^=group-]"))).hasSize(5);
            List<WebElement> bars = driver.findElements(By.cssSelector("svg.bars"));
            assertThat(bars.size()).isGreaterThanOrEqualTo(5 * 5);
            assertThat(driver.findElements(By.cssSelector("svg.bars path.ci")).size()).isGreaterThan(100);
            assertThat(driver.findElements(By.cssSelector("img[src^='data:image/png']")).size()).isGreaterThanOrEqualTo(4);
            // every method's value with its interval and count
            List<WebElement> intervals = driver.findElements(By.cssSelector("table.matrix .ci"));
            assertThat(intervals.size()).isGreaterThan(200);
            assertThat(intervals.get(0).getText()).matches("\\[[-0-9.]+, [-0-9.]+\\]\\s+n=\\d+.*");
            assertThat(driver.getPageSource()).contains("lower is better").contains("higher is better");
            assertNoSidewaysScrolling(driver);
            HeadlessChromium.screenshot(driver, "report-matrix.png");
            ((JavascriptExecutor) driver).executeScript("document.getElementById('group-2').scrollIntoView()");
            HeadlessChromium.screenshot(driver, "report-matrix-zsre.png");
        } finally {
            driver.quit();
        }
    }

    @Test
    void runReportPutsMetricsFirstPaginatesTheCasesAndFoldsTheSettings() throws Exception {
        HeadlessChromium.assumePresent();
        Path dir = tmp.resolve("run");
        CliRun r = EvalCommandTest.eval(dir, "--method", "ICE", "--hparams", EvalCommandTest.HPARAMS, "--protocol", "both",
                "--resamples", "200");
        assertThat(r.code()).as(r.err()).isZero();
        String html = Files.readString(dir.resolve("report.html"));
        // metrics before cases, cases before settings
        assertThat(html.indexOf("Metrics: teacher-forced")).isLessThan(html.indexOf("Metrics: generation"));
        assertThat(html.indexOf("Metrics: generation")).isLessThan(html.indexOf("<h2>Cases"));
        assertThat(html.indexOf("<h2>Cases")).isLessThan(html.indexOf("<summary>Settings"));
        WebDriver driver = HeadlessChromium.start(tmp, 1280, 1000);
        try {
            driver.get(dir.resolve("report.html").toUri().toString());
            assertThat(driver.findElements(By.cssSelector("svg.bars")).size()).isGreaterThanOrEqualTo(10);
            assertThat(driver.findElement(By.id("case-count")).getText()).isEqualTo("3 of 3 cases");
            driver.findElement(By.id("case-search")).sendKeys("Mars");
            assertThat(driver.findElement(By.id("case-count")).getText()).isEqualTo("1 of 3 cases");
            assertThat(driver.findElements(By.cssSelector("#cases tbody tr")).stream().filter(WebElement::isDisplayed))
                    .hasSize(1);
            // the settings (with their long hyper-parameter line) are folded away
            assertThat(driver.findElement(By.cssSelector("details")).getAttribute("open")).isNull();
            driver.findElement(By.cssSelector("details > summary")).click();
            assertNoSidewaysScrolling(driver);
            HeadlessChromium.screenshot(driver, "report-run.png");
        } finally {
            driver.quit();
        }
    }

    private static void assertNoSidewaysScrolling(WebDriver driver) {
        long width = (Long) ((JavascriptExecutor) driver).executeScript("return document.documentElement.scrollWidth");
        System.out.println("[browser test] document scroll width " + width + " px in a 1280 px window");
        assertThat(width).isLessThanOrEqualTo(1280);
        // nor does any table scroll inside its box
        Object clipped = ((JavascriptExecutor) driver).executeScript("return [].slice.call(document.querySelectorAll("
                + "'.wide')).filter(function(d){return d.scrollWidth>d.clientWidth+1;}).length");
        assertThat((Long) clipped).as("tables wider than their box").isZero();
    }
}
