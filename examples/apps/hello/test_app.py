import unittest

import app


class GreetingTest(unittest.TestCase):
    def test_greets(self):
        self.assertTrue(app.greeting().startswith("hello"))


if __name__ == "__main__":
    unittest.main()
