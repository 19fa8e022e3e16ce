package dev.icedit.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.icedit.testing.HeadlessChromium;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The playground page in real headless Chromium ({@link HeadlessChromium}): type a fact, run an ICE edit, watch it
 * finish, see the new answer, revert it. Screenshots go to target/screenshots/.
 */
class PlaygroundBrowserTest {
    @TempDir Path tmp;

    @Test
    void editAFactInThePageAndSeeTheNewAnswer() throws Exception {
        HeadlessChromium.assumePresent();

        try (ServerFixture f = ServerFixture.start(tmp.resolve("work"))) {
            WebDriver driver = HeadlessChromium.start(tmp, 1400, 1700);
            try {
                run(driver, f);
            } catch (Throwable t) {
                screenshot(driver, "playground-failure.png");
                throw t;
            } finally {
                driver.quit();
            }
        }
    }

    private void run(WebDriver driver, ServerFixture f) throws Exception {
        // the page re-renders the journal and the job status while it polls: an element read mid-render is stale,
        // so the waits look it up again instead of failing
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));
        wait.ignoring(StaleElementReferenceException.class);
        WebDriverWait editWait = new WebDriverWait(driver, Duration.ofMinutes(10));
        editWait.ignoring(StaleElementReferenceException.class);
        driver.get(f.server.url() + "/");
        wait.until(d -> d.findElement(By.id("model-info")).getText().contains("layers"));
        wait.until(d -> new Select(d.findElement(By.id("edit-method"))).getOptions().size() >= 3);

        // ask the model first
        WebElement prompt = driver.findElement(By.id("prompt"));
        prompt.clear();
        prompt.sendKeys(ServerFixture.PROMPT);
        driver.findElement(By.id("generate")).click();
        wait.until(d -> !d.findElement(By.id("continuation")).getText().isEmpty());
        String before = driver.findElement(By.id("continuation")).getText();
        assertThat(before.strip()).doesNotStartWith(ServerFixture.TARGET);
        assertThat(driver.findElements(By.cssSelector("#next-tokens tbody tr"))).hasSize(8);

        // type the fact and run the edit
        driver.findElement(By.id("edit-prompt")).sendKeys(ServerFixture.PROMPT);
        driver.findElement(By.id("edit-target")).sendKeys(ServerFixture.TARGET);
        driver.findElement(By.id("edit-rephrase")).sendKeys("Zorland's capital city is");
        new Select(driver.findElement(By.id("edit-method"))).selectByValue("ICE");
        var hparams = ServerFixture.iceHparams(10);
        if (hparams != null) {
            new Select(driver.findElement(By.id("edit-preset"))).selectByVisibleText("custom (JSON)");
            WebElement text = driver.findElement(By.id("edit-hparams"));
            assertThat(text.isDisplayed()).isTrue();
            text.sendKeys(hparams.toString());
        }
        driver.findElement(By.id("edit-submit")).click();

        editWait.until(d -> {
            String s = d.findElement(By.id("job-status")).getAttribute("data-status");
            return s != null && List.of("succeeded", "failed", "cancelled").contains(s);
        });
        String status = driver.findElement(By.id("job-status")).getText();
        System.out.println("[browser test] " + status);
        assertThat(driver.findElement(By.id("job-status")).getAttribute("data-status")).as(status).isEqualTo("succeeded");

        // the comparison shows the new answer, and the prompt box now answers with it
        WebElement editedRow = driver.findElement(By.cssSelector("#comparison tr[data-kind=edited]"));
        assertThat(editedRow.findElement(By.cssSelector("td.after")).getText().strip())
                .startsWith(ServerFixture.TARGET);
        assertThat(driver.findElements(By.cssSelector("#comparison tr[data-kind=rephrase]"))).hasSize(1);
        assertThat(driver.findElements(By.cssSelector("#comparison tr[data-kind=unrelated]"))).hasSize(3);
        assertThat(editedRow.findElement(By.cssSelector("td.after")).getAttribute("class")).contains("took");
        // an unrelated answer is never shown in the colour of success: unchanged is "same", changed "disturbed"
        for (WebElement after : driver.findElements(By.cssSelector("#comparison tr[data-kind=unrelated] td.after"))) {
            assertThat(after.getAttribute("class")).doesNotContain("took").containsAnyOf("same", "disturbed");
        }
        wait.until(d -> d.findElement(By.id("continuation")).getText().strip().startsWith(ServerFixture.TARGET));
        String points = driver.findElement(By.cssSelector("#loss-chart polyline")).getAttribute("points");
        assertThat(points.split(" ")).hasSize(f.server.journal().edits().get(0).lossPerStep().size());
        assertThat(driver.findElements(By.cssSelector("#journal tbody tr"))).hasSize(1);
        screenshot(driver, "playground-edit.png");

        // revert from the journal: the old answer is back, and the journal shows the edit as reverted
        driver.findElement(By.cssSelector("#journal tbody tr button.revert")).click();
        wait.until(d -> "reverted".equals(d.findElement(By.cssSelector("#journal tbody tr")).getAttribute("data-status")));
        assertThat(driver.findElements(By.cssSelector("#journal tbody tr button.revert"))).isEmpty();
        wait.until(d -> d.findElement(By.id("job-status")).getText().contains("(since reverted)"));
        wait.until(d -> d.findElement(By.id("continuation")).getText().equals(before));
        assertThat(f.model.modifiedWeights()).isEmpty();
        screenshot(driver, "playground-reverted.png");
        assertThat(driver.findElement(By.id("error")).isDisplayed()).isFalse();
    }

    private static void screenshot(WebDriver driver, String name) {
        HeadlessChromium.screenshot(driver, name);
    }
}
